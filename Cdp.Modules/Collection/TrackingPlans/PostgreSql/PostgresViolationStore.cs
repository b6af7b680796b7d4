using Cdp.Modules.Shared.Storage.PostgreSql;
using Npgsql;

namespace Cdp.Modules.Collection.TrackingPlans.PostgreSql;

/// <summary>cdp_tracking_violations: one row per hour and violation (source, type, event, property, kind), its count and latest example.</summary>
internal sealed class PostgresViolationStore(PostgresDatabase database) : IViolationStore
{
    private readonly NpgsqlDataSource dataSource = database.DataSource;

    public IReadOnlyList<ViolationRow> Load(long oldestHour)
    {
        using var cmd = dataSource.CreateCommand("SELECT hour, source, type, event, property, kind, count, last_at, example FROM cdp_tracking_violations WHERE hour >= $1");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = oldestHour });
        using var reader = cmd.ExecuteReader();
        var rows = new List<ViolationRow>();
        while (reader.Read())
            rows.Add(new ViolationRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                reader.GetInt64(6), reader.GetInt64(7), reader.GetString(8)));
        return rows;
    }

    // the row lock of a conflicting row makes two hosts' additions wait for each other
    public void Add(IReadOnlyList<ViolationRow> rows, long oldestHour)
    {
        using var conn = dataSource.OpenConnection();
        using var batch = new NpgsqlBatch(conn);
        foreach (var r in rows)
        {
            var command = new NpgsqlBatchCommand("""
                INSERT INTO cdp_tracking_violations AS t (hour, source, type, event, property, kind, count, last_at, example)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (hour, source, type, event, property, kind) DO UPDATE SET
                    count = t.count + excluded.count,
                    last_at = greatest(t.last_at, excluded.last_at),
                    example = CASE WHEN excluded.last_at >= t.last_at THEN excluded.example ELSE t.example END
                """);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = r.Hour });
            foreach (var text in new[] { r.Source, r.Type, r.Event, r.Property, r.Kind }) command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = text });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = r.Count });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = r.LastAtTicks });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = r.Example });
            batch.BatchCommands.Add(command);
        }
        var prune = new NpgsqlBatchCommand("DELETE FROM cdp_tracking_violations WHERE hour < $1");
        prune.Parameters.Add(new NpgsqlParameter<long> { TypedValue = oldestHour });
        batch.BatchCommands.Add(prune);
        batch.ExecuteNonQuery();
    }
}
