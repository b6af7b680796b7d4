using Cdp.Modules.Shared.Storage.PostgreSql;
using Hangfire.PostgreSql;
using Npgsql;

namespace Cdp.Modules.Scheduling.Storage.PostgreSql;

/// <summary>
/// Jobs on PostgreSQL (Cdp:Storage:Provider = PostgreSql): Hangfire.PostgreSql in the schema <see cref="Schema"/> of Cdp's
/// database, over the host's one connection pool. Its tables are created and upgraded by Hangfire.PostgreSql itself
/// (PrepareSchemaIfNecessary) under its own lock, apart from Cdp's versioned migrations.
/// </summary>
internal static class PostgresJobStorage
{
    /// <summary>Apart from Cdp's tables (and from another Hangfire in the same database using the default "hangfire").</summary>
    public const string Schema = "cdp_hangfire";

    public static PostgreSqlStorage Create(PostgresDatabase database, SchedulingOptions options) =>
        new(new PooledConnections(database.DataSource), new PostgreSqlStorageOptions
        {
            SchemaName = Schema,
            PrepareSchemaIfNecessary = true,
            QueuePollInterval = options.QueuePollInterval,
            InvisibilityTimeout = options.InvisibilityTimeout,
            // at least once, as on LiteDB: a fetched job is kept invisible while its worker lives, and re-queued after
            // InvisibilityTimeout when the host running it died
            UseSlidingInvisibilityTimeout = true,
            JobExpirationCheckInterval = options.ExpirationCheckInterval,
        });

    /// <summary>Connections from the host's pool (Hangfire opens and disposes them).</summary>
    private sealed class PooledConnections(NpgsqlDataSource dataSource) : IConnectionFactory
    {
        public NpgsqlConnection GetOrCreateConnection() => dataSource.CreateConnection();
    }
}
