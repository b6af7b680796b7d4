using System.Data;
using Npgsql;

namespace Cdp.Modules.Shared.Storage.PostgreSql;

/// <summary>
/// The PostgreSQL database of this host (Cdp:Storage:Provider = PostgreSql): one per process, over one pooled
/// <see cref="NpgsqlDataSource"/> built from Cdp:Storage:ConnectionString. Connections come from the pool and go back on
/// dispose; a transaction is one connection's, so unlike LiteDB's, awaiting inside it is fine. A failure to connect
/// (server down, wrong host, password or database) surfaces as <see cref="PostgresUnavailableException"/>.
/// </summary>
internal sealed class PostgresDatabase : IUnitOfWorkFactory, IDisposable, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _connectionString;

    public PostgresDatabase(string connectionString)
    {
        if (PostgresConnectionString.Problem(connectionString) is { } problem) throw new ArgumentException($"{PostgresConnectionString.Key} {problem}");
        Redacted = PostgresConnectionString.Redact(connectionString);
        _connectionString = connectionString;
        _dataSource = new NpgsqlDataSourceBuilder(connectionString) { Name = "cdp" }.Build();
    }

    /// <summary>The connection string with its password hidden, for logs and messages.</summary>
    public string Redacted { get; }

    /// <summary>The pool itself, for what the methods below do not cover (COPY, batches, LISTEN).</summary>
    public NpgsqlDataSource DataSource => _dataSource;

    /// <summary>
    /// An open connection of its own, outside the pool, named <paramref name="applicationName"/> in pg_stat_activity: for
    /// what must live as long as the process (a session lock), not return to a pool.
    /// </summary>
    public NpgsqlConnection OpenDedicated(string applicationName)
    {
        var builder = new NpgsqlConnectionStringBuilder(_connectionString) { Pooling = false, ApplicationName = applicationName };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch (Exception ex) when (IsConnectFailure(ex))
        {
            connection.Dispose();
            throw new PostgresUnavailableException(Redacted, ex);
        }
    }

    /// <summary>Cdp's tables (cdp_*, the migrations' own table aside) in the connection's schema that hold at least one row.</summary>
    public IReadOnlyList<string> TablesWithRows()
    {
        using var connection = Open();
        var tables = new List<string>();
        using (var list = new NpgsqlCommand("""
            SELECT table_name FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name LIKE 'cdp\_%' AND table_name <> $1 ORDER BY table_name
            """, connection))
        {
            list.Parameters.Add(new NpgsqlParameter<string> { TypedValue = SchemaMigrator.Table });
            using var r = list.ExecuteReader();
            while (r.Read()) tables.Add(r.GetString(0));
        }
        return tables.Where(t =>
        {
            using var any = new NpgsqlCommand($"SELECT EXISTS (SELECT 1 FROM \"{t}\")", connection);
            return (bool)any.ExecuteScalar()!;
        }).ToList();
    }

    /// <summary>An open connection from the pool; dispose it to give it back.</summary>
    public NpgsqlConnection Open()
    {
        try
        {
            return _dataSource.OpenConnection();
        }
        catch (Exception ex) when (IsConnectFailure(ex))
        {
            throw new PostgresUnavailableException(Redacted, ex);
        }
    }

    /// <inheritdoc cref="Open"/>
    public async ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (Exception ex) when (IsConnectFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            throw new PostgresUnavailableException(Redacted, ex);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in one transaction on one connection and commits; any exception rolls it back and is
    /// rethrown as it was.
    /// </summary>
    /// <summary>The same transaction as a provider-neutral unit of work (<see cref="PostgresUnitOfWork"/>), for work that crosses modules.</summary>
    T IUnitOfWorkFactory.InTransaction<T>(Func<IUnitOfWork, T> work) => InTransaction((c, t) => work(new PostgresUnitOfWork(c, t)));

    public T InTransaction<T>(Func<NpgsqlConnection, NpgsqlTransaction, T> work, IsolationLevel isolation = IsolationLevel.ReadCommitted)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction(isolation);
        var result = work(connection, transaction);
        transaction.Commit();
        return result; // an exception above: the transaction's Dispose rolls it back
    }

    /// <inheritdoc cref="InTransaction{T}"/>
    public void InTransaction(Action<NpgsqlConnection, NpgsqlTransaction> work, IsolationLevel isolation = IsolationLevel.ReadCommitted) =>
        InTransaction((c, t) =>
        {
            work(c, t);
            return true;
        }, isolation);

    /// <inheritdoc cref="InTransaction{T}"/>
    public async Task<T> InTransactionAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task<T>> work,
        CancellationToken cancellationToken = default, IsolationLevel isolation = IsolationLevel.ReadCommitted)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(isolation, cancellationToken);
        var result = await work(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <inheritdoc cref="InTransaction{T}"/>
    public Task InTransactionAsync(Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task> work,
        CancellationToken cancellationToken = default, IsolationLevel isolation = IsolationLevel.ReadCommitted) =>
        InTransactionAsync(async (c, t, ct) =>
        {
            await work(c, t, ct);
            return true;
        }, cancellationToken, isolation);

    /// <summary>Failures of opening a connection: network, the server refusing (auth, no such database, starting up), timeouts.</summary>
    private static bool IsConnectFailure(Exception ex) => ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException or IOException;

    public void Dispose() => _dataSource.Dispose();

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}

/// <summary>
/// The PostgreSQL database cannot be reached (server down, wrong host, password or database name): the message names the
/// database by its connection string without the password. The host and the CLI exit with <see cref="ExitCode"/>.
/// </summary>
public sealed class PostgresUnavailableException(string redactedConnectionString, Exception cause)
    : Exception($"cannot connect to PostgreSQL ({redactedConnectionString}): {cause.Message}", cause)
{
    /// <summary>Storage unavailable, as for a LiteDB file that cannot be opened (README, Exit codes).</summary>
    public const int ExitCode = StorageUnavailableException.ExitCode;
}
