using Npgsql;

namespace Cdp.Modules.Shared.Storage.PostgreSql;

/// <summary>The PostgreSQL provider's unit of work: one connection with its open transaction.</summary>
public sealed class PostgresUnitOfWork(NpgsqlConnection connection, NpgsqlTransaction transaction) : IUnitOfWork
{
    public string Provider => StorageProviders.PostgreSql;

    public NpgsqlConnection Connection { get; } = connection;

    public NpgsqlTransaction Transaction { get; } = transaction;

    /// <summary>A command on this transaction.</summary>
    public NpgsqlCommand Command(string sql) => new(sql, Connection, Transaction);
}

public static class PostgresUnitOfWorkExtensions
{
    /// <summary>The PostgreSQL transaction of <paramref name="tx"/>, for a module's PostgreSQL store; any other provider's is refused.</summary>
    public static PostgresUnitOfWork Postgres(this IUnitOfWork tx) => tx as PostgresUnitOfWork
        ?? throw new NotSupportedException($"this store keeps its data in PostgreSQL and got a {tx.Provider} transaction");
}
