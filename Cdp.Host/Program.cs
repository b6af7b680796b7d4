using Cdp.Host;
using Cdp.Host.Cli;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Microsoft.Extensions.Options;
using Cdp.Modules.Pipeline.Contracts;

// Cdp.Host [verb] [options] [--Cdp:Section:Key=value ...]   (see README.md, "Command line")
// Verbs other than run open the data file themselves: stop the server first. One process per database file: a second one
// (server or verb) stops at once with exit code 2, naming the file and the process holding it (Shared/Storage/DatabaseFileLock).
var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "run";

try
{
    // the verbs and their options: Cli/CdpCommandLine (System.CommandLine); `Cdp.Host <verb> --help` describes each
    return await new CdpCommandLine(RunServerAsync, CheckConfigAsync).InvokeAsync(args);
}
catch (Exception ex) when (InUse(ex) is { } inUse)
{
    Console.Error.WriteLine($"{verb}: {inUse.Message}; stop it first, or ask the running server (see README, \"Command line\")");
    return DatabaseInUseException.ExitCode;
}
catch (Exception ex) when (Find<PostgresUnavailableException>(ex) is { } postgres)
{
    // Cdp:Storage:Provider = PostgreSql and the database cannot be reached: the server is down, or the connection string is wrong
    Console.Error.WriteLine($"Cdp cannot start: {postgres.Message}. Check that PostgreSQL runs and {StorageOptions.Section}:ConnectionString, then start Cdp again.");
    return PostgresUnavailableException.ExitCode;
}
catch (Exception ex) when (Find<SchemaMigrationException>(ex) is { } migration)
{
    Console.Error.WriteLine($"Cdp cannot start: the PostgreSQL schema cannot be migrated: {migration.Message}");
    return MigrateVerb.MigrationFailed;
}
catch (Exception ex) when (StorageUnavailable(ex) is { } storage)
{
    // a database file cannot be opened, created or written at start (disk full, permissions): a clear line, no stack trace
    Console.Error.WriteLine($"Cdp cannot start: {storage.Message}. Free space on that disk (or fix the file's permissions), then start Cdp again.");
    return StorageUnavailableException.ExitCode;
}
catch (Exception ex) when (ex is OptionsValidationException
    || ex is AggregateException { InnerExceptions: var inner } && inner.All(e => e is OptionsValidationException))
{
    // several sections wrong at once (e.g. a bad cron in Cdp:Syncs and in Cdp:Governance) come as one AggregateException
    var failures = ex is AggregateException all ? all.InnerExceptions.Cast<OptionsValidationException>().SelectMany(e => e.Failures) : ((OptionsValidationException)ex).Failures;
    Console.Error.WriteLine("Cdp cannot start: invalid settings in appsettings.json (or its environment overrides):");
    foreach (var failure in failures) Console.Error.WriteLine("  - " + failure);
    return 2;
}
catch (InvalidSettingsException ex)
{
    // a setting that is valid but not for this (e.g. Cdp:Storage:Provider=PostgreSql for the server in this version)
    Console.Error.WriteLine(verb == "run" ? $"Cdp cannot start: {ex.Message}" : $"{verb}: {ex.Message}");
    return 2;
}
catch (Exception ex) when (ex is ArgumentException or CsvImportRejectedException)
{
    Console.Error.WriteLine($"{verb}: {ex.Message}");
    return 1;
}

static async Task<int> CheckConfigAsync(string[] settings)
{
    // services only, no endpoints: mapping them opens the database files (a running server holds them)
    await using var app = CdpApp.CreateBuilder(settings).Build();
    CdpApp.ValidateSettings(app.Services);
    Console.WriteLine("appsettings are valid");
    // valid but probably not meant (e.g. a segment on an event no tracking plan has): printed, the exit code stays 0
    foreach (var warning in SettingsWarnings.Of(app.Services)) Console.WriteLine("warning: " + warning);
    return 0;
}

static async Task<int> RunServerAsync(string[] aspNetArgs)
{
    var builder = CdpApp.CreateBuilder(aspNetArgs);
    builder.Services.AddSingleton<PostgresStorage.ServerRole>(); // the server, not a verb: it may share its database (Cdp:Storage:Hosts)
    var app = CdpApp.Build(builder);
    CdpApp.ValidateSettings(app.Services);
    var watchdog = app.Services.GetService<StorageWatchdog>(); // LiteDB only
    var processor = app.Services.GetRequiredService<IProfileProcessor>();
    await app.RunAsync();
    // 4 when LiteDB's engine closed itself (StorageWatchdog), 5 when the profile processor's thread died: the service manager restarts Cdp
    if (watchdog is { ExitCode: not 0 }) return watchdog.ExitCode;
    return processor.Status.Dead ? ProfileProcessorExit.ProcessorDead : 0;
}

// the host may wrap a service's failure (start-up of a hosted service, DI activation)
static T? Find<T>(Exception? ex) where T : Exception => ex switch
{
    null => null,
    T t => t,
    AggregateException a => a.InnerExceptions.Select(Find<T>).FirstOrDefault(e => e is not null),
    _ => Find<T>(ex.InnerException),
};

static DatabaseInUseException? InUse(Exception? ex) => ex switch
{
    null => null,
    DatabaseInUseException d => d,
    AggregateException a => a.InnerExceptions.Select(InUse).FirstOrDefault(e => e is not null),
    _ => InUse(ex.InnerException),
};

static Exception? StorageUnavailable(Exception? ex) => ex switch
{
    null => null,
    StorageUnavailableException s => s,
    AggregateException a => a.InnerExceptions.Select(StorageUnavailable).FirstOrDefault(e => e is not null),
    IOException io when StorageFailure.IsDiskFull(io) => new IOException(StorageFailure.Describe(io), io),
    _ => StorageUnavailable(ex.InnerException),
};

public partial class Program;
