using System.Text;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Npgsql;

namespace Cdp.Modules.Pipeline.Processing.PostgreSql;

/// <summary>
/// cdp_processor_state (one row per named value: the checkpoint) and cdp_processor_failures (one row per set-aside event).
/// What came from the event or its exception (messageId, type, name, message, stack) is kept as UTF-8 bytes: it can hold
/// a NUL, which text refuses (see Shared/Storage/README.md).
/// </summary>
internal sealed class PostgresProcessorStore(PostgresDatabase database) : IProcessorStore
{
    private readonly NpgsqlDataSource dataSource = database.DataSource;

    private const string Columns =
        "seq, source, message_id, type, event, received_at, exception, message, stack, first_failed_at, last_failed_at, attempts, discarded, discarded_at, discarded_by";

    public static readonly SchemaMigration V1 = new("Pipeline", 1, "processor checkpoint and set-aside events", """
        CREATE TABLE cdp_processor_state (
            id  text   PRIMARY KEY,
            seq bigint NOT NULL
        );
        CREATE TABLE cdp_processor_failures (
            seq             bigint      PRIMARY KEY,
            source          text        NOT NULL,
            message_id      bytea       NOT NULL,
            type            bytea       NOT NULL,
            event           bytea,
            received_at     timestamptz NOT NULL,
            exception       text        NOT NULL,
            message         bytea       NOT NULL,
            stack           bytea       NOT NULL,
            first_failed_at timestamptz NOT NULL,
            last_failed_at  timestamptz NOT NULL,
            attempts        integer     NOT NULL,
            discarded       boolean     NOT NULL DEFAULT false,
            discarded_at    timestamptz,
            discarded_by    text
        );
        """);

    public long Checkpoint()
    {
        using var cmd = dataSource.CreateCommand("SELECT seq FROM cdp_processor_state WHERE id = 'checkpoint'");
        return cmd.ExecuteScalar() is long seq ? seq : 0;
    }

    public bool Paused()
    {
        using var cmd = dataSource.CreateCommand("SELECT seq FROM cdp_processor_state WHERE id = 'paused'");
        return cmd.ExecuteScalar() is long seq && seq == 1;
    }

    public void SetPaused(bool paused)
    {
        using var cmd = dataSource.CreateCommand("INSERT INTO cdp_processor_state (id, seq) VALUES ('paused', $1) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = paused ? 1 : 0 });
        cmd.ExecuteNonQuery();
    }

    public void WriteCheckpoint(IUnitOfWork tx, long from, long through)
    {
        // compare-and-set in one statement: the row lock makes a second processor's write wait for the first one's commit,
        // then find the checkpoint moved (read committed re-reads the row it waited for)
        var pg = tx.Postgres();
        using var cmd = pg.Command("""
            WITH moved AS (
                UPDATE cdp_processor_state SET seq = $2 WHERE id = 'checkpoint' AND seq = $1 RETURNING 1
            ), first AS (
                INSERT INTO cdp_processor_state (id, seq) SELECT 'checkpoint', $2 WHERE $1 = 0 AND NOT EXISTS (SELECT 1 FROM moved)
                ON CONFLICT (id) DO NOTHING RETURNING 1
            )
            SELECT (SELECT count(*) FROM moved) + (SELECT count(*) FROM first)
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = from });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = through });
        if ((long)cmd.ExecuteScalar()! == 1) return;
        using var read = pg.Command("SELECT seq FROM cdp_processor_state WHERE id = 'checkpoint'");
        throw new CheckpointMovedException(from, read.ExecuteScalar() is long seq ? seq : 0);
    }

    public IReadOnlyList<(long Sequence, bool Discarded)> FailureIndex()
    {
        using var cmd = dataSource.CreateCommand("SELECT seq, discarded FROM cdp_processor_failures");
        using var reader = cmd.ExecuteReader();
        var index = new List<(long, bool)>();
        while (reader.Read()) index.Add((reader.GetInt64(0), reader.GetBoolean(1)));
        return index;
    }

    public void RecordFailure(IUnitOfWork tx, LoggedEvent e, string type, string? name, FailureCause cause, DateTime at)
    {
        using var cmd = tx.Postgres().Command($"""
            INSERT INTO cdp_processor_failures ({Columns})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1, false, NULL, NULL)
            ON CONFLICT (seq) DO UPDATE SET exception = excluded.exception, message = excluded.message, stack = excluded.stack,
                last_failed_at = excluded.last_failed_at, attempts = cdp_processor_failures.attempts + 1
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = e.Sequence });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.Source });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Encoding.UTF8.GetBytes(e.MessageId) });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Encoding.UTF8.GetBytes(type) });
        cmd.Parameters.Add(new NpgsqlParameter { Value = name is null ? DBNull.Value : Encoding.UTF8.GetBytes(name), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea });
        cmd.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = e.ReceivedAt, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = cause.Exception });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Encoding.UTF8.GetBytes(cause.Message) });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Encoding.UTF8.GetBytes(cause.Stack) });
        cmd.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = at, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        cmd.ExecuteNonQuery();
    }

    public void ImportFailure(IUnitOfWork tx, ProcessorFailureView f)
    {
        using var cmd = tx.Postgres().Command($"INSERT INTO cdp_processor_failures ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = f.Sequence });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = f.Source });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Encoding.UTF8.GetBytes(f.MessageId) });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Encoding.UTF8.GetBytes(f.Type) });
        cmd.Parameters.Add(new NpgsqlParameter { Value = f.Event is null ? DBNull.Value : Encoding.UTF8.GetBytes(f.Event), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea });
        cmd.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = f.ReceivedAt.ToUniversalTime(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = f.Exception });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Encoding.UTF8.GetBytes(f.Message) });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Encoding.UTF8.GetBytes(f.Stack) });
        cmd.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = f.FirstFailedAt.ToUniversalTime(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = f.LastFailedAt.ToUniversalTime(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = f.Attempts });
        cmd.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = f.Discarded });
        cmd.Parameters.Add(new NpgsqlParameter { Value = f.DiscardedAt is { } at ? at.ToUniversalTime() : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)f.DiscardedBy ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        cmd.ExecuteNonQuery();
    }

    public void RemoveFailure(IUnitOfWork tx, long sequence) => DeleteFailures(tx, [sequence]);

    public bool DiscardFailure(IUnitOfWork tx, long sequence, string by, DateTime at)
    {
        using var cmd = tx.Postgres().Command("UPDATE cdp_processor_failures SET discarded = true, discarded_at = $2, discarded_by = $3 WHERE seq = $1 AND NOT discarded");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = sequence });
        cmd.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = at, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = by });
        return cmd.ExecuteNonQuery() == 1;
    }

    public IReadOnlyList<ProcessorFailureView> Failures(long after, int limit, bool discarded)
    {
        using var cmd = dataSource.CreateCommand($"SELECT {Columns} FROM cdp_processor_failures WHERE seq > $1 AND discarded = $2 ORDER BY seq LIMIT $3");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
        cmd.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = discarded });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        return Read(cmd).ToList();
    }

    public ProcessorFailureView? Failure(long sequence)
    {
        using var cmd = dataSource.CreateCommand($"SELECT {Columns} FROM cdp_processor_failures WHERE seq = $1");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = sequence });
        return Read(cmd).FirstOrDefault();
    }

    public IEnumerable<ProcessorFailureView> AllFailures()
    {
        using var cmd = dataSource.CreateCommand($"SELECT {Columns} FROM cdp_processor_failures ORDER BY seq");
        return Read(cmd).ToList();
    }

    public long DeleteFailures(IUnitOfWork tx, IReadOnlyCollection<long> sequences)
    {
        using var cmd = tx.Postgres().Command("DELETE FROM cdp_processor_failures WHERE seq = ANY($1)");
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = sequences.ToArray() });
        return cmd.ExecuteNonQuery();
    }

    private static IEnumerable<ProcessorFailureView> Read(NpgsqlCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        while (r.Read())
            yield return new ProcessorFailureView(
                r.GetInt64(0), r.GetString(1), Text(r, 2)!, Text(r, 3)!, Text(r, 4), r.GetFieldValue<DateTime>(5), r.GetString(6),
                Text(r, 7)!, Text(r, 8)!, r.GetFieldValue<DateTime>(9), r.GetFieldValue<DateTime>(10), r.GetInt32(11), r.GetBoolean(12),
                r.IsDBNull(13) ? null : r.GetFieldValue<DateTime>(13), r.IsDBNull(14) ? null : r.GetString(14));
    }

    private static string? Text(NpgsqlDataReader r, int column) => r.IsDBNull(column) ? null : Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(column));
}

/// <summary>The Pipeline module's migrations.</summary>
internal sealed class PipelinePostgresSchema : IPostgresSchema
{
    public IEnumerable<SchemaMigration> Migrations => [PostgresProcessorStore.V1, PostgresLeadership.V2];
}
