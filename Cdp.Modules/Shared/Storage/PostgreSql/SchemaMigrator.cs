using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Cdp.Modules.Shared.Storage.PostgreSql;

/// <summary>The PostgreSQL schema's versions, for the host and the <c>migrate</c> verb.</summary>
public interface ISchemaMigrations
{
    /// <summary>The database, its password hidden.</summary>
    string Database { get; }

    /// <summary>
    /// The migrations this build has that the database lacks, in module-then-version order; writes nothing. Throws
    /// <see cref="SchemaMigrationException"/> when the database was migrated by a newer Cdp or a released migration was edited,
    /// <see cref="PostgresUnavailableException"/> when the database cannot be reached.
    /// </summary>
    IReadOnlyList<SchemaMigration> Plan();

    /// <summary>
    /// Applies what <see cref="Plan"/> lists, each migration in its own transaction with its row in cdp_schema_migrations;
    /// <paramref name="applying"/> is told before each one. Returns the migrations this call applied (those another host
    /// applied meanwhile are not among them). A failing migration is rolled back alone and throws
    /// <see cref="SchemaMigrationException"/> naming it; the ones before it stay applied.
    /// </summary>
    IReadOnlyList<SchemaMigration> Apply(Action<SchemaMigration>? applying = null);
}

/// <summary>The schema cannot be migrated: the message says which migration and why.</summary>
public sealed class SchemaMigrationException(string message, Exception? cause = null) : Exception(message, cause);

/// <summary>
/// Versioned schema migrations for PostgreSQL. Every module contributes its <see cref="SchemaMigration"/>s through an
/// <see cref="IPostgresSchema"/>; the database records what it has in <c>cdp_schema_migrations</c> (module, version, name,
/// checksum of the SQL, applied_at). A database is never downgraded: an applied migration this build does not know (a newer
/// Cdp wrote it) or one whose SQL changed since it was applied stops the plan with a message instead of guessing.
/// </summary>
internal sealed class SchemaMigrator(PostgresDatabase database, IEnumerable<IPostgresSchema> schemas) : ISchemaMigrations
{
    public const string Table = "cdp_schema_migrations";

    /// <summary>
    /// The key of the transaction-scoped advisory lock every migration transaction takes first. Fixed, so that every Cdp
    /// host on the same database contends for the same lock and two hosts starting at once migrate one after the other
    /// (the second then finds nothing left to do); advisory locks are per database, so Cdps on other databases of the same
    /// server are not held up. Transaction-scoped, so a host that dies mid-migration releases it with its connection.
    /// The value is "CDPSCHEM" in ASCII: arbitrary, chosen to be unlikely to collide with another application's key.
    /// </summary>
    public const long AdvisoryLockKey = 0x4344_5053_4348_454D;

    private readonly IReadOnlyList<SchemaMigration> _known = Known(schemas);

    public string Database => database.Redacted;

    /// <summary>Every migration of this build, checked (versions 1..n per module, no gaps or duplicates) and in module-then-version order.</summary>
    public IReadOnlyList<SchemaMigration> Migrations => _known;

    public IReadOnlyList<SchemaMigration> Plan()
    {
        using var connection = database.Open();
        using var exists = new NpgsqlCommand($"SELECT to_regclass('{Table}') IS NOT NULL", connection);
        if (!(bool)exists.ExecuteScalar()!) return _known;
        return Pending(Applied(connection, null));
    }

    public IReadOnlyList<SchemaMigration> Apply(Action<SchemaMigration>? applying = null)
    {
        database.InTransaction((connection, transaction) =>
        {
            Lock(connection, transaction);
            Execute(connection, transaction, $"""
                CREATE TABLE IF NOT EXISTS {Table} (
                    module text NOT NULL,
                    version int NOT NULL,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (module, version))
                """);
        });

        var applied = new List<SchemaMigration>();
        while (true)
        {
            // one transaction per migration: under the lock, read what is applied now (another host may have gone first),
            // run the next pending one and record it; a failure rolls back that migration alone
            var done = database.InTransaction((connection, transaction) =>
            {
                Lock(connection, transaction);
                if (Pending(Applied(connection, transaction)) is not [var next, ..]) return true;
                applying?.Invoke(next);
                try
                {
                    Execute(connection, transaction, next.Sql);
                }
                catch (PostgresException ex)
                {
                    throw new SchemaMigrationException($"PostgreSQL schema migration {next.Module} {next.Version} ({next.Name}) failed and was rolled back: " +
                        $"{ex.MessageText} (SQLSTATE {ex.SqlState}); the migrations before it stay applied", ex);
                }
                using var record = new NpgsqlCommand($"INSERT INTO {Table} (module, version, name, checksum) VALUES (@module, @version, @name, @checksum)", connection, transaction);
                record.Parameters.AddWithValue("module", next.Module);
                record.Parameters.AddWithValue("version", next.Version);
                record.Parameters.AddWithValue("name", next.Name);
                record.Parameters.AddWithValue("checksum", Checksum(next));
                record.ExecuteNonQuery();
                applied.Add(next);
                return false;
            });
            if (done) return applied;
        }
    }

    /// <summary>SHA-256 of the SQL (line ends as \n, so a checkout with CRLF line ends is the same migration), lower-case hex.</summary>
    public static string Checksum(SchemaMigration migration) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(migration.Sql.ReplaceLineEndings("\n"))));

    private IReadOnlyList<SchemaMigration> Pending(IReadOnlyList<(string Module, int Version, string Name, string Checksum)> applied)
    {
        var known = _known.ToDictionary(m => (m.Module, m.Version));
        foreach (var row in applied)
        {
            if (!known.TryGetValue((row.Module, row.Version), out var migration))
                throw new SchemaMigrationException($"the database has schema migration {row.Module} {row.Version} ({row.Name}), which this version of Cdp " +
                    $"does not know: a newer Cdp migrated it. Refusing to downgrade: run that newer version (or restore a backup taken before it)");
            if (Checksum(migration) != row.Checksum)
                throw new SchemaMigrationException($"schema migration {row.Module} {row.Version} ({row.Name}) was applied with other SQL than this version " +
                    $"of Cdp has (checksum {row.Checksum[..12]}... in the database, {Checksum(migration)[..12]}... here): a released migration was edited. " +
                    "Refusing to go on: restore that migration's SQL and add a new version for the change");
        }
        var done = applied.Select(a => (a.Module, a.Version)).ToHashSet();
        return [.. _known.Where(m => !done.Contains((m.Module, m.Version)))];
    }

    private static List<(string Module, int Version, string Name, string Checksum)> Applied(NpgsqlConnection connection, NpgsqlTransaction? transaction)
    {
        using var command = new NpgsqlCommand($"SELECT module, version, name, checksum FROM {Table} ORDER BY module, version", connection, transaction);
        using var reader = command.ExecuteReader();
        var rows = new List<(string, int, string, string)>();
        while (reader.Read()) rows.Add((reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3)));
        return rows;
    }

    private static void Lock(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction);
        command.Parameters.AddWithValue("key", AdvisoryLockKey);
        command.ExecuteNonQuery();
    }

    private static void Execute(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = 0 }; // a migration may rewrite a big table
        command.ExecuteNonQuery();
    }

    /// <summary>The build's migrations in module-then-version order (modules by name, ordinal), after checking each module's numbering.</summary>
    private static IReadOnlyList<SchemaMigration> Known(IEnumerable<IPostgresSchema> schemas)
    {
        var all = schemas.SelectMany(s => s.Migrations).ToList();
        foreach (var m in all)
        {
            if (string.IsNullOrWhiteSpace(m.Module) || string.IsNullOrWhiteSpace(m.Name) || string.IsNullOrWhiteSpace(m.Sql))
                throw new InvalidOperationException($"schema migration '{m.Module}' {m.Version} '{m.Name}': module, name and SQL must not be empty");
        }
        foreach (var module in all.GroupBy(m => m.Module, StringComparer.Ordinal))
        {
            var versions = module.Select(m => m.Version).Order().ToList();
            if (!versions.SequenceEqual(Enumerable.Range(1, versions.Count)))
                throw new InvalidOperationException($"the schema migrations of {module.Key} must be numbered 1, 2, 3, ... without gaps or repeats; they are {string.Join(", ", versions)}");
        }
        return [.. all.OrderBy(m => m.Module, StringComparer.Ordinal).ThenBy(m => m.Version)];
    }
}
