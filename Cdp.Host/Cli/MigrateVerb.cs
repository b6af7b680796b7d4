using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Microsoft.Extensions.Options;

namespace Cdp.Host.Cli;

/// <summary>
/// <c>Cdp.Host migrate [--dry-run]</c>: brings the PostgreSQL schema up to this version (Cdp:Storage:Provider = PostgreSql),
/// printing each migration (module, version, name) before it runs; with --dry-run only prints them. Safe while other hosts
/// run or migrate (an advisory lock, see SchemaMigrator). Exit 0 done (or nothing to do), 1 a migration failed or the
/// database is newer than this Cdp, 6 the database cannot be reached. On LiteDB there is nothing to migrate.
/// </summary>
internal static class MigrateVerb
{
    public const int MigrationFailed = 1;

    /// <param name="services">more services before the host is built (the tests register a schema of their own)</param>
    public static async Task<int> RunAsync(bool dryRun, string[] settings, TextWriter output, TextWriter error, Action<IServiceCollection>? services = null)
    {
        var builder = CdpApp.CreateBuilder([.. settings, "--Cdp:Scheduling:ServerEnabled=false", "--Logging:LogLevel:Default=Warning"]);
        services?.Invoke(builder.Services);
        await using var app = builder.Build(); // services only: no endpoints, nothing started, no LiteDB file opened
        CdpApp.ValidateSettings(app.Services);
        var storage = app.Services.GetRequiredService<IOptions<StorageOptions>>().Value;
        if (!storage.UsesPostgreSql)
        {
            output.WriteLine($"Cdp:Storage:Provider is {StorageProviders.LiteDb}: LiteDB needs no migrations (its documents are schemaless, " +
                "and the server upgrades its files in place). Nothing to do.");
            return 0;
        }

        var migrations = app.Services.GetRequiredService<ISchemaMigrations>();
        try
        {
            var pending = migrations.Plan();
            output.WriteLine($"PostgreSQL {migrations.Database}: {(pending.Count == 0 ? "the schema is up to date" : $"{pending.Count} pending migration(s)")}");
            if (dryRun)
            {
                foreach (var m in pending) output.WriteLine($"  would apply {Describe(m)}");
                if (pending.Count > 0) output.WriteLine("dry run: nothing was applied");
                return 0;
            }
            var applied = migrations.Apply(m => output.WriteLine($"  applying {Describe(m)}"));
            if (pending.Count > 0 || applied.Count > 0) output.WriteLine($"done: {applied.Count} migration(s) applied");
            return 0;
        }
        catch (PostgresUnavailableException ex)
        {
            error.WriteLine($"migrate: {ex.Message}");
            return PostgresUnavailableException.ExitCode;
        }
        catch (SchemaMigrationException ex)
        {
            error.WriteLine($"migrate: {ex.Message}");
            return MigrationFailed;
        }
    }

    private static string Describe(SchemaMigration m) => $"{m.Module} {m.Version}: {m.Name}";
}
