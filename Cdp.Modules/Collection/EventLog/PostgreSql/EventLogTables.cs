namespace Cdp.Modules.Collection.EventLog.PostgreSql;

/// <summary>The Collection module's tables in PostgreSQL, as versioned migrations (never edit a released one: add the next).</summary>
internal static class EventLogTables
{
    /// <summary>
    /// Version 1: the event log, one row per event (no index besides the sequence: the log is read in sequence order only),
    /// the dead letters, the CSV import ledger and the ingest counters per hour. Hostile text is kept as UTF-8 bytes (see <see cref="PostgresEventLogStore"/>).
    /// </summary>
    public const string V1 = """
        CREATE TABLE cdp_event_log (
            seq        bigint      PRIMARY KEY,
            at         timestamptz NOT NULL,
            source     text        NOT NULL,
            message_id bytea       NOT NULL,
            body       bytea       NOT NULL
        );
        CREATE TABLE cdp_dead_letters (
            id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source text        NOT NULL,
            at     timestamptz NOT NULL,
            idx    integer     NOT NULL,
            errors bytea       NOT NULL,
            raw    bytea       NOT NULL
        );
        CREATE TABLE cdp_import_ledger (
            message_id bytea PRIMARY KEY
        );
        CREATE TABLE cdp_ingest_stats (
            hour   bigint   PRIMARY KEY,
            counts bigint[] NOT NULL
        );
        -- an append's check, inside its transaction and after the log's lock: the newest committed event must be the one
        -- before the append's first (else another writer appends to the same log, and the whole append rolls back)
        CREATE FUNCTION cdp_event_log_expect(newest bigint) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE stored bigint;
        BEGIN
            SELECT coalesce(max(seq), 0) INTO stored FROM cdp_event_log;
            IF stored <> newest THEN
                RAISE EXCEPTION 'its newest event is %', stored USING ERRCODE = 'CDP01';
            END IF;
        END $$;
        """;

    /// <summary>The SQLSTATE <c>cdp_event_log_expect</c> raises when another writer got there first (version 1's appends).</summary>
    public const string AnotherWriter = "CDP01";

    /// <summary>
    /// Version 2, several hosts on one log (issue #28): the database numbers each append under the log's lock, so
    /// <c>cdp_event_log_expect</c> is no longer called. The dedup window's keys (a 128-bit hash of source and messageId,
    /// as the hosts' memory keeps them) with their commit time, so a retry that reaches another host is stored once; and
    /// one row per group commit (its id, first sequence and count), so a writer whose commit reported a failure can ask
    /// whether it committed. Both are pruned to the dedup window.
    /// </summary>
    public const string V2 = """
        CREATE TABLE cdp_event_dedup (
            key bytea       PRIMARY KEY,
            at  timestamptz NOT NULL
        );
        -- keys arrive in commit-time order: a BRIN index finds the old ones for the prune at almost no cost per insert
        CREATE INDEX cdp_event_dedup_at ON cdp_event_dedup USING brin (at);
        CREATE TABLE cdp_event_log_commits (
            id        uuid        PRIMARY KEY,
            at        timestamptz NOT NULL,
            first_seq bigint      NOT NULL,
            stored    integer     NOT NULL
        );
        CREATE INDEX cdp_event_log_commits_at ON cdp_event_log_commits (at);
        """;

    /// <summary>
    /// Version 3, tracking plans (issue #31): the violations per hour and kind of violation, each with its latest example
    /// (a masked value, never the sent one). Text only ever holds names Cdp cleaned of control characters.
    /// </summary>
    public const string V3 = """
        CREATE TABLE cdp_tracking_violations (
            hour     bigint NOT NULL,
            source   text   NOT NULL,
            type     text   NOT NULL,
            event    text   NOT NULL,
            property text   NOT NULL,
            kind     text   NOT NULL,
            count    bigint NOT NULL,
            last_at  bigint NOT NULL,
            example  text   NOT NULL,
            PRIMARY KEY (hour, source, type, event, property, kind)
        );
        """;
}
