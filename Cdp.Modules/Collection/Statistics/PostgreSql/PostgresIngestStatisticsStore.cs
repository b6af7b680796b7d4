using Cdp.Modules.Shared.Storage.PostgreSql;
using Npgsql;

namespace Cdp.Modules.Collection.Statistics.PostgreSql;

/// <summary>cdp_ingest_stats: one row per hour, its counts a bigint[] (minute * 3 + (accepted, dead lettered, rejected)).</summary>
internal sealed class PostgresIngestStatisticsStore(PostgresDatabase database) : IIngestStatisticsStore
{
    private readonly NpgsqlDataSource dataSource = database.DataSource;

    public IReadOnlyDictionary<long, long[]> Load(long oldestHour)
    {
        using var cmd = dataSource.CreateCommand("SELECT hour, counts FROM cdp_ingest_stats WHERE hour >= $1");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = oldestHour });
        using var reader = cmd.ExecuteReader();
        var hours = new Dictionary<long, long[]>();
        while (reader.Read()) hours[reader.GetInt64(0)] = reader.GetFieldValue<long[]>(1);
        return hours;
    }

    public void Save(IReadOnlyDictionary<long, long[]> hours, long oldestHour) =>
        Write("INSERT INTO cdp_ingest_stats (hour, counts) VALUES ($1, $2) ON CONFLICT (hour) DO UPDATE SET counts = excluded.counts", hours, oldestHour);

    // element by element; the row lock of the conflicting row makes two hosts' additions wait for each other
    public void Add(IReadOnlyDictionary<long, long[]> deltas, long oldestHour) => Write("""
        INSERT INTO cdp_ingest_stats (hour, counts) VALUES ($1, $2)
        ON CONFLICT (hour) DO UPDATE SET counts = (
            SELECT array_agg(coalesce(a, 0) + coalesce(b, 0) ORDER BY i)
            FROM unnest(cdp_ingest_stats.counts, excluded.counts) WITH ORDINALITY AS t(a, b, i))
        """, deltas, oldestHour);

    /// <summary>One implicit transaction: <paramref name="upsert"/> ($1 hour, $2 counts) for each hour, then the prune.</summary>
    private void Write(string upsert, IReadOnlyDictionary<long, long[]> hours, long oldestHour)
    {
        using var conn = dataSource.OpenConnection();
        using var batch = new NpgsqlBatch(conn);
        foreach (var (h, counts) in hours)
        {
            var command = new NpgsqlBatchCommand(upsert);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = h });
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = counts });
            batch.BatchCommands.Add(command);
        }
        var prune = new NpgsqlBatchCommand("DELETE FROM cdp_ingest_stats WHERE hour < $1");
        prune.Parameters.Add(new NpgsqlParameter<long> { TypedValue = oldestHour });
        batch.BatchCommands.Add(prune);
        batch.ExecuteNonQuery();
    }
}
