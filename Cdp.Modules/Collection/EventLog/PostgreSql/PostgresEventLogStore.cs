using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Npgsql;
using NpgsqlTypes;

namespace Cdp.Modules.Collection.EventLog.PostgreSql;

/// <summary>
/// The event log in PostgreSQL: one row per event in <c>cdp_event_log</c> (its sequence the primary key), appended with
/// one round trip per group commit (a batch of statements: the lock, the check and array inserts); refused events in
/// <c>cdp_dead_letters</c>.
///
/// Gapless order: the sequences are numbered by the one writer, never by a PostgreSQL sequence (those are handed out
/// before commit, so a reader trusting max(seq) would skip an event whose transaction commits late). Each append checks,
/// under the log's advisory transaction lock, that its first sequence follows the newest COMMITTED row, and the primary
/// key refuses a number twice: so event n+1 can only commit after event n is committed and visible, and a reader that
/// sees sequence n sees every sequence below it. The lock makes a second writer wait for the first one's commit and then
/// fail its check, instead of inserting beside it: a second writer on the same database is refused at its first append.
///
/// Values from outside (messageId, the refused text) are kept as bytes: PostgreSQL's text and jsonb refuse the NUL
/// character a hostile sender can put in any string, and one such event must not fail the group commit of everyone.
/// </summary>
internal sealed class PostgresEventLogStore(PostgresDatabase database) : IEventLogStore
{
    private readonly NpgsqlDataSource dataSource = database.DataSource;

    /// <summary>
    /// pg_advisory_xact_lock key of the event log's appends (any fixed number that no other lock of Cdp uses: the ASCII
    /// of "cdp_log" read as a number).
    /// </summary>
    internal const long AppendLock = 0x6364705F6C6F67;

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

    public void Append(long firstSequence, DateTime at, IReadOnlyList<AcceptedEvent> events, IReadOnlyList<RejectedEvent> deadLetters)
    {
        // one round trip: the statements of a batch run in one implicit transaction that commits at its end (or rolls back
        // whole at the first error), each statement with its own snapshot, so the check sees what committed before the lock
        using var conn = dataSource.OpenConnection();
        using var batch = new NpgsqlBatch(conn);
        if (events.Count > 0)
        {
            batch.Add("SELECT pg_advisory_xact_lock($1)", new NpgsqlParameter<long> { TypedValue = AppendLock });
            batch.Add("SELECT cdp_event_log_expect($1)", new NpgsqlParameter<long> { TypedValue = firstSequence - 1 });
            var sources = new string[events.Count];
            var messageIds = new byte[events.Count][];
            var bodies = new byte[events.Count][];
            for (var i = 0; i < events.Count; i++)
            {
                sources[i] = events[i].Source;
                messageIds[i] = Encoding.UTF8.GetBytes(events[i].MessageId);
                bodies[i] = events[i].Json;
            }
            batch.Add(
                "INSERT INTO cdp_event_log (seq, at, source, message_id, body) " +
                "SELECT $1 + e.n - 1, $2, e.s, e.m, e.b FROM unnest($3::text[], $4::bytea[], $5::bytea[]) WITH ORDINALITY AS e(s, m, b, n)",
                new NpgsqlParameter<long> { TypedValue = firstSequence }, new NpgsqlParameter<DateTime> { TypedValue = at, NpgsqlDbType = NpgsqlDbType.TimestampTz },
                new NpgsqlParameter<string[]> { TypedValue = sources }, new NpgsqlParameter<byte[][]> { TypedValue = messageIds },
                new NpgsqlParameter<byte[][]> { TypedValue = bodies });
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
        if (batch.BatchCommands.Count == 0) return;
        try
        {
            batch.ExecuteNonQuery();
        }
        catch (PostgresException ex) when (ex.SqlState == EventLogTables.AnotherWriter)
        {
            throw new InvalidOperationException(
                $"another writer appends to this event log: {ex.MessageText}, and this host numbered the next {firstSequence}. " +
                "One Cdp host at a time may use a database (see README, PostgreSQL).", ex);
        }
    }

    public bool Contains(long sequence)
    {
        using var conn = dataSource.OpenConnection();
        using var cmd = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM cdp_event_log WHERE seq = $1)", conn);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = sequence });
        return (bool)cmd.ExecuteScalar()!;
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
