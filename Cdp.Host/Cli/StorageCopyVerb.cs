using System.Diagnostics;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.Copy;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Microsoft.Extensions.Options;

namespace Cdp.Host.Cli;

/// <summary>
/// <c>Cdp.Host storage copy --to &lt;connection string&gt;</c>: copies this LiteDB installation (the event log, the identity
/// graph, profiles, segments, the syncs' member state and run history, matching, the audit log, privacy receipts and
/// suppressions) into an empty PostgreSQL database, module by module through the stores (<see cref="StorageCopier"/>),
/// and checks each record set on the target: as many records, the same checksum. The server must be stopped (both the
/// LiteDB file and the PostgreSQL database are held for the copy's duration). Exit 0 copied and verified; 2 the source
/// is not LiteDB, the target already holds Cdp data, or a server holds the file; 1 a set differs after the copy (the
/// target then holds a partial copy: empty it and run again); 6 PostgreSQL cannot be reached.
/// </summary>
internal static class StorageCopyVerb
{
    public const int Mismatch = 1;
    public const int Refused = 2;

    public static async Task<int> RunAsync(string? to, string[] settings, TextWriter output, TextWriter error)
    {
        if (string.IsNullOrWhiteSpace(to))
        {
            error.WriteLine("storage copy: --to <connection string> is required (the empty PostgreSQL database to copy into, e.g. \"Host=db;Database=cdp;Username=cdp;Password=...\")");
            return CdpCommandLine.BadArguments;
        }
        if (PostgresConnectionString.Problem(to) is { } problem)
        {
            error.WriteLine($"storage copy: --to {problem}");
            return CdpCommandLine.BadArguments;
        }
        string[] quiet = ["--Cdp:Scheduling:ServerEnabled=false", "--Logging:LogLevel:Default=Warning"];
        var sourceBuilder = CdpApp.CreateBuilder([.. settings, .. quiet]);
        if (string.Equals(sourceBuilder.Configuration[$"{StorageOptions.Section}:Provider"], StorageProviders.PostgreSql, StringComparison.OrdinalIgnoreCase))
        {
            error.WriteLine($"storage copy: {StorageOptions.Section}:Provider is {StorageProviders.PostgreSql}; storage copy reads a LiteDB installation " +
                $"(run it with the settings of the installation to move, {StorageOptions.Section}:Provider = {StorageProviders.LiteDb})");
            return Refused;
        }
        await using var source = CdpApp.Build(sourceBuilder);
        CdpApp.ValidateSettings(source.Services);
        var storage = source.Services.GetRequiredService<IOptions<StorageOptions>>().Value;

        await using var target = CdpApp.Build(CdpApp.CreateBuilder([.. settings, .. quiet,
            $"--{StorageOptions.Section}:Provider={StorageProviders.PostgreSql}", $"--{StorageOptions.Section}:ConnectionString={to}"]));
        var described = StorageCopier.Describe(target.Services);
        if (StorageCopier.TablesWithRows(target.Services) is { Count: > 0 } used)
        {
            error.WriteLine($"storage copy: the PostgreSQL database {described} already holds Cdp data ({string.Join(", ", used)}); " +
                "storage copy writes only into an empty database (create a new one, or drop and recreate this one)");
            return Refused;
        }

        output.WriteLine($"copying {Path.GetFullPath(storage.Path)} into PostgreSQL {described}");
        var clock = Stopwatch.StartNew();
        try
        {
            var report = StorageCopier.Copy(source.Services, target.Services,
                set => output.WriteLine($"  {set.Module,-10} {set.Name,-18} {set.Records,12:N0} records  checksum {set.Checksum[..16]}  verified"));
            output.WriteLine($"done: {report.Sum(s => s.Records):N0} records in {report.Count} sets copied and verified in {clock.Elapsed.TotalSeconds:N1} s. " +
                $"Now set {StorageOptions.Section}:Provider = {StorageProviders.PostgreSql} and {StorageOptions.Section}:ConnectionString, keep the " +
                $"{Path.GetFileName(storage.Path)}.audit-key file beside {StorageOptions.Section}:Path, and start Cdp.");
            return 0;
        }
        catch (StorageCopyMismatchException ex)
        {
            error.WriteLine($"storage copy: {ex.Message}. The target holds a partial copy: empty it (drop and recreate the database) before running storage copy again.");
            return Mismatch;
        }
    }
}
