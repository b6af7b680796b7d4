using System.Text;
using System.Text.Json;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Npgsql;

namespace Cdp.Modules.Collection.DeadLetters.PostgreSql;

/// <summary>Dead letters in cdp_dead_letters (errors and raw text as UTF-8 bytes, see PostgresEventLogStore).</summary>
internal sealed class PostgresDeadLetterStore(PostgresDatabase database) : IDeadLetterStore
{
    private readonly NpgsqlDataSource dataSource = database.DataSource;

    private const string Columns = "id, source, at, idx, errors, raw";

    public IReadOnlyList<DeadLetter> Newest(long? before, int take)
    {
        using var cmd = dataSource.CreateCommand($"SELECT {Columns} FROM cdp_dead_letters WHERE id < $1 ORDER BY id DESC LIMIT $2");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = before ?? long.MaxValue });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = take });
        using var reader = cmd.ExecuteReader();
        var result = new List<DeadLetter>();
        while (reader.Read()) result.Add(Read(reader));
        return result;
    }

    public IEnumerable<DeadLetter> All()
    {
        using var cmd = dataSource.CreateCommand($"SELECT {Columns} FROM cdp_dead_letters ORDER BY id");
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) yield return Read(reader);
    }

    public long Delete(IUnitOfWork tx, IReadOnlyCollection<long> ids)
    {
        using var cmd = tx.Postgres().Command("DELETE FROM cdp_dead_letters WHERE id = ANY($1)");
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = ids.ToArray() });
        return cmd.ExecuteNonQuery();
    }

    public void Import(IReadOnlyList<DeadLetter> letters)
    {
        if (letters.Count == 0) return;
        database.InTransaction((c, t) =>
        {
            using var batch = new NpgsqlBatch(c, t);
            batch.Add("""
                INSERT INTO cdp_dead_letters (id, source, at, idx, errors, raw) OVERRIDING SYSTEM VALUE
                SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::int[], $5::bytea[], $6::bytea[])
                """,
                new NpgsqlParameter<long[]> { TypedValue = letters.Select(l => l.Id).ToArray() },
                new NpgsqlParameter<string[]> { TypedValue = letters.Select(l => l.Source).ToArray() },
                new NpgsqlParameter<DateTime[]> { TypedValue = letters.Select(l => l.ReceivedAt.ToUniversalTime()).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.TimestampTz },
                new NpgsqlParameter<int[]> { TypedValue = letters.Select(l => l.Index).ToArray() },
                new NpgsqlParameter<byte[][]> { TypedValue = letters.Select(l => JsonSerializer.SerializeToUtf8Bytes(l.Errors.Select(e => new StoredError(e.Field, e.Message)).ToList())).ToArray() },
                new NpgsqlParameter<byte[][]> { TypedValue = letters.Select(l => Encoding.UTF8.GetBytes(l.Raw)).ToArray() });
            // later dead letters take ids after the imported ones
            batch.Add("SELECT setval(pg_get_serial_sequence('cdp_dead_letters', 'id'), (SELECT max(id) FROM cdp_dead_letters))");
            batch.ExecuteNonQuery();
        });
    }

    private static DeadLetter Read(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetFieldValue<DateTime>(2), r.GetInt32(3),
        JsonSerializer.Deserialize<List<StoredError>>(r.GetFieldValue<byte[]>(4))!.Select(e => new DeadLetterError(e.Field, e.Message)).ToList(),
        Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(5)));

    private sealed record StoredError(
        [property: System.Text.Json.Serialization.JsonPropertyName("field")] string Field,
        [property: System.Text.Json.Serialization.JsonPropertyName("message")] string Message);
}
