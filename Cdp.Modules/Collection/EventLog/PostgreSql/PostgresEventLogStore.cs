using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Cdp.Modules.Collection.EventLog.PostgreSql;

/// <summary>
/// The event log in PostgreSQL: one row per event in <c>cdp_event_log</c> (its sequence the primary key), appended with
/// one round trip per group commit (a batch of statements: the lock, then one statement that deduplicates, numbers,
/// inserts, records the commit and notifies); refused events in <c>cdp_dead_letters</c>.
///
/// Gapless order with several hosts appending: the sequences are numbered by the database, never by a PostgreSQL
/// sequence (those are handed out before commit, so a reader trusting max(seq) would skip an event whose transaction
/// commits late). Each append takes the log's advisory transaction lock, then numbers its events from the newest
/// COMMITTED row (its statement's snapshot is taken after the lock), so event n+1 can only commit after event n is
/// committed and visible, and a reader that sees sequence n sees every sequence below it; the primary key would refuse a
/// number twice. The commit's NOTIFY tells the other hosts' readers the new head (<see cref="WatchHeadAsync"/>).
///
/// Deduplication across hosts: the append inserts each event's key (source and messageId hashed as the hosts' memory
/// keeps them, <see cref="DedupIndex.Key"/>) into <c>cdp_event_dedup</c> and stores only the events whose key was new, so a
/// retry that reaches another host than the first attempt is acknowledged and stored once. Each host's memory stays
/// the fast path for its own retries; the table holds the window's keys (pruned by time and to DedupMaxEntries).
///
/// Values from outside (messageId, the refused text) are kept as bytes: PostgreSQL's text and jsonb refuse the NUL
/// character a hostile sender can put in any string, and one such event must not fail the group commit of everyone.
/// </summary>
internal sealed class PostgresEventLogStore(PostgresDatabase database, IOptions<CollectionOptions>? options = null, IOptions<StorageOptions>? storage = null)
    : IEventLogStore
{
    private readonly NpgsqlDataSource dataSource = database.DataSource;
    private readonly TimeSpan _window = options?.Value.DedupWindow ?? new CollectionOptions().DedupWindow;

    /// <summary>
    /// The database keeps the dedup window's keys only where other hosts append (Cdp:Storage:Hosts = Several; a store made
    /// without settings, in tests, too). With one host its memory holds the whole window (refilled from the log at start),
    /// so the keys' index work, about half of a big append's cost, is not paid.
    /// </summary>
    private readonly bool _sharedDedup = storage?.Value.SeveralHosts ?? true;
    private readonly int _maxKeys = options?.Value.DedupMaxEntries ?? new CollectionOptions().DedupMaxEntries;
    private DateTime _pruned = DateTime.MinValue;

    /// <summary>
    /// pg_advisory_xact_lock key of the event log's appends (any fixed number that no other lock of Cdp uses: the ASCII
    /// of "cdp_log" read as a number).
    /// </summary>
    internal const long AppendLock = 0x6364705F6C6F67;

    /// <summary>The NOTIFY channel of committed appends; the payload is the newest sequence.</summary>
    internal const string HeadChannel = "cdp_event_log";

    /// <summary>How often the dedup keys and commit records older than the window are deleted (by the appending host).</summary>
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The append's one statement (after the lock): the events with their keys (a repeated key within the append counts
    /// once), the keys no one stored in the window (looked up, then inserted plainly: the lock keeps every other appender
    /// out, so no conflict can arise in between, and a plain insert costs less than ON CONFLICT's speculative one), the head,
    /// the new events numbered after it in their order, the commit's record and its notification.
    /// $1 keys, $2 sources, $3 messageIds, $4 bodies, $5 commit time, $6 the commit's id, $7 whether to deduplicate.
    /// </summary>
    private const string AppendSql = """
        WITH input AS (
            SELECT e.k, e.s, e.m, e.b, e.n, row_number() OVER (PARTITION BY e.k ORDER BY e.n) AS first
            FROM unnest($1::bytea[], $2::text[], $3::bytea[], $4::bytea[]) WITH ORDINALITY AS e(k, s, m, b, n)
        ), fresh AS (
            SELECT i.k FROM input i WHERE $7 AND i.first = 1 AND NOT EXISTS (SELECT 1 FROM cdp_event_dedup d WHERE d.key = i.k)
        ), kept AS (
            INSERT INTO cdp_event_dedup (key, at) SELECT k, $5 FROM fresh
        ), head AS (
            SELECT coalesce(max(seq), 0) AS h FROM cdp_event_log
        ), numbered AS (
            SELECT i.s, i.m, i.b, row_number() OVER (ORDER BY i.n) AS r FROM input i
            WHERE NOT $7 OR (i.first = 1 AND i.k IN (SELECT k FROM fresh))
        ), stored AS (
            INSERT INTO cdp_event_log (seq, at, source, message_id, body)
            SELECT head.h + numbered.r, $5, numbered.s, numbered.m, numbered.b FROM numbered, head
            RETURNING seq
        ), commit AS (
            INSERT INTO cdp_event_log_commits (id, at, first_seq, stored)
            SELECT $6, $5, coalesce(min(seq), 0), count(*) FROM stored
            RETURNING first_seq, stored
        )
        SELECT first_seq, stored, CASE WHEN stored > 0 THEN pg_notify('cdp_event_log', (first_seq + stored - 1)::text) END FROM commit
        """;

    /// <summary>Rows read per query while recovering the dedup window, newest first.</summary>
    private const int RecoverPage = 10_000;

    public LogTail Recover(DateTime since)
    {
        using var conn = dataSource.OpenConnection();
        var newest = Scalar<long>(conn, "SELECT coalesce(max(seq), 0) FROM cdp_event_log");
        var recent = new List<(string, string, DateTime)>();
        var below = newest + 1;
        var done = false;
        while (!done && below > 1)
        {
            using var cmd = new NpgsqlCommand("SELECT seq, source, message_id, at FROM cdp_event_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2", conn);
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = below });
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = RecoverPage });
            using var reader = cmd.ExecuteReader();
            var rows = 0;
            while (reader.Read())
            {
                rows++;
                below = reader.GetInt64(0);
                var at = reader.GetFieldValue<DateTime>(3);
                if (at < since) { done = true; break; }
                recent.Add((reader.GetString(1), Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(2)), at));
            }
            if (rows < RecoverPage) done = true;
        }
        recent.Reverse();
        return new LogTail(newest + 1, recent);
    }

    /// <summary>Nothing to prepare: the append sends the event's bytes as they are.</summary>
    public void Prepare(IReadOnlyList<AcceptedEvent> events) { }

    public AppendResult Append(LogAppend append)
    {
        var (_, at, events, deadLetters) = append;
        // one round trip: the statements of a batch run in one implicit transaction that commits at its end (or rolls back
        // whole at the first error), each statement with its own snapshot, so the append sees what committed before the lock
        using var conn = dataSource.OpenConnection();
        using var batch = new NpgsqlBatch(conn);
        var time = new NpgsqlParameter<DateTime> { TypedValue = at, NpgsqlDbType = NpgsqlDbType.TimestampTz };
        if (events.Count > 0)
        {
            batch.Add("SELECT pg_advisory_xact_lock($1)", new NpgsqlParameter<long> { TypedValue = AppendLock });
            var keys = new byte[events.Count][];
            var sources = new string[events.Count];
            var messageIds = new byte[events.Count][];
            var bodies = new byte[events.Count][];
            for (var i = 0; i < events.Count; i++)
            {
                keys[i] = KeyBytes(events[i]);
                sources[i] = events[i].Source;
                messageIds[i] = Encoding.UTF8.GetBytes(events[i].MessageId);
                bodies[i] = events[i].Json;
            }
            batch.Add(AppendSql,
                new NpgsqlParameter<byte[][]> { TypedValue = keys }, new NpgsqlParameter<string[]> { TypedValue = sources },
                new NpgsqlParameter<byte[][]> { TypedValue = messageIds }, new NpgsqlParameter<byte[][]> { TypedValue = bodies },
                time, new NpgsqlParameter<Guid> { TypedValue = append.Id }, new NpgsqlParameter<bool> { TypedValue = _sharedDedup && _window > TimeSpan.Zero });
        }
        if (deadLetters.Count > 0)
        {
            batch.Add(
                "INSERT INTO cdp_dead_letters (source, at, idx, errors, raw) SELECT d.s, $1, d.i, d.e, d.r FROM unnest($2::text[], $3::int[], $4::bytea[], $5::bytea[]) AS d(s, i, e, r)",
                new NpgsqlParameter<DateTime> { TypedValue = at, NpgsqlDbType = NpgsqlDbType.TimestampTz },
                new NpgsqlParameter<string[]> { TypedValue = deadLetters.Select(r => r.Source).ToArray() },
                new NpgsqlParameter<int[]> { TypedValue = deadLetters.Select(r => r.Index).ToArray() },
                new NpgsqlParameter<byte[][]> { TypedValue = deadLetters.Select(r => JsonSerializer.SerializeToUtf8Bytes(r.Errors.Select(x => new { field = x.Field, message = x.Message }))).ToArray() },
                new NpgsqlParameter<byte[][]> { TypedValue = deadLetters.Select(r => Encoding.UTF8.GetBytes(r.Raw)).ToArray() });
        }
        var prune = events.Count > 0 && at - _pruned >= PruneEvery; // commit records always; keys when they are kept
        if (prune) AddPrune(batch, at);
        if (batch.BatchCommands.Count == 0) return default;
        AppendResult result = default;
        // prepared once per pooled connection (Npgsql keeps them across the pool; later calls cost nothing): planning the
        // append's statement took longer than running it for a few hundred events
        batch.Prepare();
        using (var reader = batch.ExecuteReader())
        {
            if (events.Count > 0)
            {
                reader.NextResult(); // past the lock's row
                if (reader.Read()) result = new AppendResult(reader.GetInt64(0), reader.GetInt32(1));
            }
            while (reader.NextResult()) { }
        }
        if (prune) _pruned = at;
        return result.Stored > 0 ? result : default;
    }

    /// <summary>Keys older than the window, or than the newest DedupMaxEntries events of the log, and commit records older than the window (at least an hour).</summary>
    private void AddPrune(NpgsqlBatch batch, DateTime at)
    {
        var cutoff = at - _window;
        batch.Add("DELETE FROM cdp_event_dedup WHERE at < $1", new NpgsqlParameter<DateTime> { TypedValue = cutoff, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        // the bound in keys, through the log (one key per stored event): keys no newer than the event DedupMaxEntries before the head
        batch.Add("DELETE FROM cdp_event_dedup WHERE at <= (SELECT at FROM cdp_event_log WHERE seq = (SELECT max(seq) FROM cdp_event_log) - $1)",
            new NpgsqlParameter<long> { TypedValue = _maxKeys });
        batch.Add("DELETE FROM cdp_event_log_commits WHERE at < $1",
            new NpgsqlParameter<DateTime> { TypedValue = at - (_window > TimeSpan.FromHours(1) ? _window : TimeSpan.FromHours(1)), NpgsqlDbType = NpgsqlDbType.TimestampTz });
    }

    private static byte[] KeyBytes(AcceptedEvent e)
    {
        var key = DedupIndex.Key(e.Source, e.MessageId);
        var bytes = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128LittleEndian(bytes, key);
        return bytes;
    }

    public AppendResult? Stored(LogAppend append)
    {
        using var conn = dataSource.OpenConnection();
        using var cmd = new NpgsqlCommand("SELECT first_seq, stored FROM cdp_event_log_commits WHERE id = $1", conn);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = append.Id });
        using var r = cmd.ExecuteReader();
        if (!r.Read()) return null;
        return r.GetInt32(1) > 0 ? new AppendResult(r.GetInt64(0), r.GetInt32(1)) : default(AppendResult);
    }

    public async Task WatchHeadAsync(Action<long> committed, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var conn = await dataSource.OpenConnectionAsync(cancellationToken);
                conn.Notification += (_, e) =>
                {
                    if (long.TryParse(e.Payload, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var last)) committed(last);
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {HeadChannel}", conn)) await listen.ExecuteNonQueryAsync(cancellationToken);
                await using var head = new NpgsqlCommand("SELECT coalesce(max(seq), 0) FROM cdp_event_log", conn);
                // the head after LISTEN, and after each quiet second: a commit notified while no one listened is not lost
                committed((long)(await head.ExecuteScalarAsync(cancellationToken))!);
                while (!cancellationToken.IsCancellationRequested)
                    if (!await conn.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken)) committed((long)(await head.ExecuteScalarAsync(cancellationToken))!);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // the connection broke (a restart, a fail-over): open another after a pause; the writer's own commits go on
                try { await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken); } catch (OperationCanceledException) { return; }
            }
        }
    }

    public long Rewrite(IUnitOfWork tx, IReadOnlyCollection<long> sequences, Func<byte[], byte[]> rewrite)
    {
        var pg = tx.Postgres();
        var found = new List<(long Seq, byte[] Body)>();
        using (var read = pg.Command("SELECT seq, body FROM cdp_event_log WHERE seq = ANY($1) ORDER BY seq FOR UPDATE"))
        {
            read.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = sequences.ToArray() });
            using var reader = read.ExecuteReader();
            while (reader.Read()) found.Add((reader.GetInt64(0), reader.GetFieldValue<byte[]>(1)));
        }
        if (found.Count == 0) return 0;
        using var update = pg.Command("UPDATE cdp_event_log SET body = u.b FROM unnest($1::bigint[], $2::bytea[]) AS u(s, b) WHERE seq = u.s");
        update.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = found.Select(f => f.Seq).ToArray() });
        update.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = found.Select(f => rewrite(f.Body)).ToArray() });
        return update.ExecuteNonQuery();
    }

    public IReadOnlyList<LoggedEvent> ReadAfter(long afterSequence, long lastSequence, int maxEvents)
    {
        using var conn = dataSource.OpenConnection();
        using var cmd = new NpgsqlCommand(
            "SELECT seq, source, message_id, at, body FROM cdp_event_log WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3", conn);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterSequence });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = lastSequence });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = maxEvents });
        using var reader = cmd.ExecuteReader();
        var result = new List<LoggedEvent>((int)Math.Min(maxEvents, Math.Min(lastSequence - afterSequence, 4096)));
        while (reader.Read())
            result.Add(new LoggedEvent(reader.GetInt64(0), reader.GetString(1), Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(2)),
                reader.GetFieldValue<DateTime>(3), reader.GetFieldValue<byte[]>(4)));
        return result;
    }

    private static T Scalar<T>(NpgsqlConnection conn, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, conn);
        return (T)cmd.ExecuteScalar()!;
    }
}
