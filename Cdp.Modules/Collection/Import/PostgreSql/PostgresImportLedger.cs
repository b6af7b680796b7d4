using System.Text;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Npgsql;

namespace Cdp.Modules.Collection.Import.PostgreSql;

/// <summary>The ledger in cdp_import_ledger (messageIds as UTF-8 bytes: they come from the file).</summary>
internal sealed class PostgresImportLedger(PostgresDatabase database) : IImportLedger
{
    private readonly NpgsqlDataSource dataSource = database.DataSource;

    public IReadOnlySet<string> Seen(IReadOnlyCollection<string> messageIds)
    {
        using var cmd = dataSource.CreateCommand("SELECT message_id FROM cdp_import_ledger WHERE message_id = ANY($1)");
        cmd.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = messageIds.Select(Encoding.UTF8.GetBytes).ToArray() });
        using var reader = cmd.ExecuteReader();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read()) seen.Add(Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(0)));
        return seen;
    }

    public IEnumerable<string> All()
    {
        using var cmd = dataSource.CreateCommand("SELECT message_id FROM cdp_import_ledger");
        using var reader = cmd.ExecuteReader();
        var all = new List<string>();
        while (reader.Read()) all.Add(Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(0)));
        return all;
    }

    public void Record(IReadOnlyCollection<string> messageIds)
    {
        using var cmd = dataSource.CreateCommand("INSERT INTO cdp_import_ledger (message_id) SELECT unnest($1::bytea[]) ON CONFLICT DO NOTHING");
        cmd.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = messageIds.Select(Encoding.UTF8.GetBytes).ToArray() });
        cmd.ExecuteNonQuery();
    }
}
