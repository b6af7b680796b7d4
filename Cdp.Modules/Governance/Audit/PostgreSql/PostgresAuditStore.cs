using System.Text.Json;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Npgsql;

namespace Cdp.Modules.Governance.Audit.PostgreSql;

/// <summary>
/// The audit log in cdp_audit: id (time-ordered, the primary key), actor (an API key's name from the settings, or
/// "(none)") for the per-actor query, and the record as JSON in bytea (paths and query text came from requests).
/// </summary>
internal sealed class PostgresAuditStore(PostgresDatabase database) : IAuditStore
{
    private readonly NpgsqlDataSource dataSource = database.DataSource;

    public static readonly SchemaMigration V2 = new("Governance", 2, "audit log", """
        CREATE TABLE cdp_audit (
            id     bigint PRIMARY KEY,
            actor  text   NOT NULL,
            record bytea  NOT NULL
        );
        CREATE INDEX cdp_audit_actor ON cdp_audit (actor, id);
        """);

    public long LastId()
    {
        using var cmd = dataSource.CreateCommand("SELECT coalesce(max(id), 0) FROM cdp_audit");
        return (long)cmd.ExecuteScalar()!;
    }

    public long Count()
    {
        using var cmd = dataSource.CreateCommand("SELECT count(*) FROM cdp_audit");
        return (long)cmd.ExecuteScalar()!;
    }

    public void Insert(AuditRecord record)
    {
        using var cmd = dataSource.CreateCommand("INSERT INTO cdp_audit (id, actor, record) VALUES ($1, $2, $3)");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = record.Id });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = record.Actor });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = JsonSerializer.SerializeToUtf8Bytes(record) });
        cmd.ExecuteNonQuery();
    }

    public List<AuditRecord> Page(long lower, long upper, string? actor, int take, bool newestFirst)
    {
        // an actor is a key's name from the settings: text PostgreSQL can hold. A filter with a NUL (from a query string)
        // names nobody, and PostgreSQL would refuse it as a parameter
        if (actor is not null && actor.Contains('\0')) return [];
        var where = actor is null ? "id > $1 AND id < $2" : "id > $1 AND id < $2 AND actor = $4";
        using var cmd = dataSource.CreateCommand($"SELECT record FROM cdp_audit WHERE {where} ORDER BY id {(newestFirst ? "DESC" : "ASC")} LIMIT $3");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = lower });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = upper });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, take) });
        if (actor is not null) cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = actor });
        using var r = cmd.ExecuteReader();
        var result = new List<AuditRecord>();
        while (r.Read()) result.Add(JsonSerializer.Deserialize<AuditRecord>(r.GetFieldValue<byte[]>(0))!);
        return result;
    }

    public int DeleteBefore(long id)
    {
        using var cmd = dataSource.CreateCommand("DELETE FROM cdp_audit WHERE id < $1");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        return cmd.ExecuteNonQuery();
    }

    public int DeleteOldest(int count)
    {
        using var cmd = dataSource.CreateCommand("DELETE FROM cdp_audit WHERE id IN (SELECT id FROM cdp_audit ORDER BY id LIMIT $1)");
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, count) });
        return cmd.ExecuteNonQuery();
    }

    /// <summary>Every record in PostgreSQL was written with keyed hashes: nothing to upgrade.</summary>
    public int UpgradeLegacyRecords(Func<AuditRecord, AuditRecord> rewrite) => 0;
}

/// <summary>Governance's migrations: privacy and the audit log.</summary>
internal sealed class GovernancePostgresSchema : IPostgresSchema
{
    public IEnumerable<SchemaMigration> Migrations => [Privacy.PostgreSql.PostgresPrivacyStore.V1, PostgresAuditStore.V2];
}
