using Npgsql;

namespace Cdp.Modules.Shared.Storage.PostgreSql;

/// <summary>How the PostgreSQL stores put several statements into one round trip.</summary>
internal static class NpgsqlBatchExtensions
{
    /// <summary>Adds a statement with its positional parameters ($1, $2, ...) to the batch.</summary>
    public static void Add(this NpgsqlBatch batch, string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        batch.BatchCommands.Add(command);
    }
}
