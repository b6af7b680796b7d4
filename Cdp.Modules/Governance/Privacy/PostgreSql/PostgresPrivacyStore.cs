using System.Text.Json;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Npgsql;
using NpgsqlTypes;

namespace Cdp.Modules.Governance.Privacy.PostgreSql;

/// <summary>
/// Privacy in PostgreSQL: cdp_privacy_suppressions (hash hex, identifier type, when, receipt: all made by Cdp),
/// cdp_privacy_state (the salt) and cdp_privacy_receipts (a receipt's counts as a JSON record).
/// </summary>
internal sealed class PostgresPrivacyStore(PostgresDatabase database) : IPrivacyStore
{
    private readonly NpgsqlDataSource dataSource = database.DataSource;

    public static readonly SchemaMigration V1 = new("Governance", 1, "suppressions, salt, deletion receipts", """
        CREATE TABLE cdp_privacy_state (
            id    text  PRIMARY KEY,
            value bytea NOT NULL
        );
        CREATE TABLE cdp_privacy_suppressions (
            hash    text        PRIMARY KEY,
            type    text        NOT NULL,
            at      timestamptz NOT NULL,
            receipt text
        );
        CREATE INDEX cdp_privacy_suppressions_at ON cdp_privacy_suppressions (at, hash);
        CREATE TABLE cdp_privacy_receipts (
            id        text        PRIMARY KEY,
            completed timestamptz NOT NULL,
            record    bytea       NOT NULL
        );
        CREATE INDEX cdp_privacy_receipts_completed ON cdp_privacy_receipts (completed DESC, id DESC);
        """);

    /// <summary>Two processes starting at once both try to insert: the first salt wins and both read it back.</summary>
    /// <summary>The stored salt; <paramref name="create"/> is called only when there is none (two hosts creating at once keep the first).</summary>
    public byte[] Salt(Func<byte[]> create)
    {
        if (StoredSalt() is { } stored) return stored;
        using (var insert = dataSource.CreateCommand("INSERT INTO cdp_privacy_state (id, value) VALUES ('salt', $1) ON CONFLICT (id) DO NOTHING"))
        {
            insert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = create() });
            insert.ExecuteNonQuery();
        }
        return StoredSalt()!;
    }

    private byte[]? StoredSalt()
    {
        using var read = dataSource.CreateCommand("SELECT value FROM cdp_privacy_state WHERE id = 'salt'");
        return read.ExecuteScalar() as byte[];
    }

    public IReadOnlyList<(string Hash, string Type)> SuppressionIndex()
    {
        using var cmd = dataSource.CreateCommand("SELECT hash, type FROM cdp_privacy_suppressions");
        using var r = cmd.ExecuteReader();
        var result = new List<(string, string)>();
        while (r.Read()) result.Add((r.GetString(0), r.GetString(1)));
        return result;
    }

    public IReadOnlyList<Suppression> AddSuppressions(IUnitOfWork tx, IReadOnlyList<Suppression> suppressions)
    {
        var unique = suppressions.DistinctBy(s => s.Hash).ToList();
        if (unique.Count == 0) return [];
        using var cmd = tx.Postgres().Command("""
            INSERT INTO cdp_privacy_suppressions (hash, type, at, receipt) SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])
            ON CONFLICT (hash) DO NOTHING RETURNING hash
            """);
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = unique.Select(s => s.Hash).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = unique.Select(s => s.Type).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = unique.Select(s => s.CreatedAt.ToUniversalTime()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = unique.Select(s => s.ReceiptId).ToArray() });
        var added = new HashSet<string>(StringComparer.Ordinal);
        using (var r = cmd.ExecuteReader())
            while (r.Read()) added.Add(r.GetString(0));
        // the other hosts (Cdp:Storage:Hosts = Several) reload their suppression lists when this commits
        if (added.Count > 0) PostgresChangeFeed.Announce(tx, ChangeTopics.Suppressions);
        return unique.Where(s => added.Contains(s.Hash)).ToList();
    }

    public string? RemoveSuppression(string hash)
    {
        using var cmd = dataSource.CreateCommand("DELETE FROM cdp_privacy_suppressions WHERE hash = $1 RETURNING type");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = hash });
        var type = cmd.ExecuteScalar() as string;
        if (type is not null) PostgresChangeFeed.Announce(dataSource, ChangeTopics.Suppressions);
        return type;
    }

    public Suppression? Suppression(string hash)
    {
        using var cmd = dataSource.CreateCommand("SELECT hash, type, at, receipt FROM cdp_privacy_suppressions WHERE hash = $1");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = hash });
        return ReadSuppressions(cmd).FirstOrDefault();
    }

    public IReadOnlyList<Suppression> Suppressions(int skip, int take)
    {
        using var cmd = dataSource.CreateCommand("SELECT hash, type, at, receipt FROM cdp_privacy_suppressions ORDER BY at, hash OFFSET $1 LIMIT $2");
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, skip) });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, take) });
        return ReadSuppressions(cmd);
    }

    private static List<Suppression> ReadSuppressions(NpgsqlCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        var result = new List<Suppression>();
        while (r.Read()) result.Add(new Suppression(r.GetString(0), r.GetString(1), r.GetFieldValue<DateTime>(2), r.IsDBNull(3) ? null : r.GetString(3)));
        return result;
    }

    public void WriteReceipt(IUnitOfWork tx, DeletionReceipt receipt)
    {
        using var cmd = tx.Postgres().Command("INSERT INTO cdp_privacy_receipts (id, completed, record) VALUES ($1, $2, $3)");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = receipt.ReceiptId });
        cmd.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = receipt.CompletedAt.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = JsonSerializer.SerializeToUtf8Bytes(receipt) });
        cmd.ExecuteNonQuery();
    }

    public DeletionReceipt? Receipt(string receiptId)
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_privacy_receipts WHERE id = $1");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = receiptId });
        return cmd.ExecuteScalar() is byte[] record ? JsonSerializer.Deserialize<DeletionReceipt>(record) : null;
    }

    public long ReceiptCount()
    {
        using var cmd = dataSource.CreateCommand("SELECT count(*) FROM cdp_privacy_receipts");
        return (long)cmd.ExecuteScalar()!;
    }

    public IReadOnlyList<DeletionReceipt> Receipts(int skip, int take)
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_privacy_receipts ORDER BY completed DESC, id DESC OFFSET $1 LIMIT $2");
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, skip) });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, take) });
        using var r = cmd.ExecuteReader();
        var result = new List<DeletionReceipt>();
        while (r.Read()) result.Add(JsonSerializer.Deserialize<DeletionReceipt>(r.GetFieldValue<byte[]>(0))!);
        return result;
    }
}
