using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.Ingest;
using Npgsql;
using NpgsqlTypes;

namespace Cdp.Modules.Collection.EventLog.PostgreSql;

/// <summary>
/// The event log in PostgreSQL: one row per event in <c>cdp_event_log</c> (its sequence the primary key), appended with
/// binary COPY, one transaction per group commit; refused events in <c>cdp_dead_letters</c>.
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
internal sealed class PostgresEventLogStore(NpgsqlDataSource dataSource) : IEventLogStore
{
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

    public void Append(long firstSequence, DateTime at, IReadOnlyList<AcceptedEvent> events, IReadOnlyList<RejectedEvent> deadLetters)
    {
        using var conn = dataSource.OpenConnection();
        using var tx = conn.BeginTransaction();
        if (events.Count > 0)
        {
            using (var batch = new NpgsqlBatch(conn, tx))
            {
                // two statements: the second takes its snapshot after the lock is granted, so it sees the append before it
                batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1)") { Parameters = { new NpgsqlParameter<long> { TypedValue = AppendLock } } });
                batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT coalesce(max(seq), 0) FROM cdp_event_log"));
                using var reader = batch.ExecuteReader();
                reader.NextResult();
                reader.Read();
                var newest = reader.GetInt64(0);
                if (newest != firstSequence - 1)
                    throw new InvalidOperationException(
                        $"another writer appends to this event log: its newest event is {newest} and this host numbered the next {firstSequence}. " +
                        "One Cdp host at a time may use a database (see README, PostgreSQL).");
            }
            using var copy = conn.BeginBinaryImport("COPY cdp_event_log (seq, at, source, message_id, body) FROM STDIN (FORMAT BINARY)");
            var seq = firstSequence;
            foreach (var e in events)
            {
                copy.StartRow();
                copy.Write(seq++, NpgsqlDbType.Bigint);
                copy.Write(at, NpgsqlDbType.TimestampTz);
                copy.Write(e.Source, NpgsqlDbType.Text);
                copy.Write(Encoding.UTF8.GetBytes(e.MessageId), NpgsqlDbType.Bytea);
                copy.Write(e.Json, NpgsqlDbType.Bytea);
            }
            copy.Complete();
        }
        if (deadLetters.Count > 0)
        {
            using var copy = conn.BeginBinaryImport("COPY cdp_dead_letters (source, at, idx, errors, raw) FROM STDIN (FORMAT BINARY)");
            foreach (var r in deadLetters)
            {
                copy.StartRow();
                copy.Write(r.Source, NpgsqlDbType.Text);
                copy.Write(at, NpgsqlDbType.TimestampTz);
                copy.Write(r.Index, NpgsqlDbType.Integer);
                copy.Write(JsonSerializer.SerializeToUtf8Bytes(r.Errors.Select(x => new { field = x.Field, message = x.Message })), NpgsqlDbType.Bytea);
                copy.Write(Encoding.UTF8.GetBytes(r.Raw), NpgsqlDbType.Bytea);
            }
            copy.Complete();
        }
        tx.Commit();
    }

    public bool Contains(long sequence)
    {
        using var conn = dataSource.OpenConnection();
        using var cmd = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM cdp_event_log WHERE seq = $1)", conn);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = sequence });
        return (bool)cmd.ExecuteScalar()!;
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
