using System.Net.Http.Headers;
using System.Net.Http.Json;
using Cdp.Modules.Governance.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;

namespace Cdp.Host.Cli;

/// <summary>
/// cdp backup &lt;folder&gt; [--server http://host:5080 --key &lt;admin key&gt;]
///   with --server: the running server writes the copy (POST /api/admin/backup; the folder is on the server's machine,
///   inside its backup root Cdp:Storage:BackupRoot, relative to it or absolute);
///   without: the server must be stopped, and the files are checkpointed and copied here.
/// cdp restore &lt;folder&gt;   (server stopped) validates the backup, moves the current files aside, puts the copies in place.
/// A database file in use by a running Cdp (its lock file is held) ends either verb with exit code 2.
/// </summary>
internal static class BackupVerb
{
    private const string BackupUsage = "usage: backup <folder> [--server URL --key KEY]";
    private const string RestoreUsage = "usage: restore <folder>   (with the server stopped)";

    public static async Task<int> BackupAsync(string? folderArgument, string? server, string? key, string[] settings)
    {
        if (folderArgument is null) throw new ArgumentException(BackupUsage);
        var folder = Path.GetFullPath(folderArgument);

        if (server is not null)
        {
            // the server's folder: relative to its backup root (Cdp:Storage:BackupRoot), or absolute inside it
            folder = folderArgument;
            using var client = new HttpClient { BaseAddress = new Uri(server), Timeout = TimeSpan.FromHours(2) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", CliArgs.Required(key, "key"));
            using var response = await client.PostAsJsonAsync("/api/admin/backup", new { folder });
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"backup: the server answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                return 1;
            }
            Print((await response.Content.ReadFromJsonAsync<BackupReport>())!);
            return 0;
        }

        await using var app = OfflineHost(settings);
        var backup = app.Services.GetRequiredService<IDatabaseBackup>();
        try
        {
            backup.EnsureNotInUse();
        }
        catch (DatabaseInUseException ex)
        {
            Console.Error.WriteLine($"backup: {ex.Message}; ask the running server for the copy: backup <folder> --server http://host:5080 --key <admin key>");
            return DatabaseInUseException.ExitCode;
        }
        return Refusable("backup", () => Print(backup.Create(folder)));
    }

    public static async Task<int> RestoreAsync(string? folder, string[] settings)
    {
        if (folder is null) throw new ArgumentException(RestoreUsage);
        await using var app = OfflineHost(settings);
        var backup = app.Services.GetRequiredService<IDatabaseBackup>();
        try
        {
            backup.EnsureNotInUse();
        }
        catch (DatabaseInUseException ex)
        {
            Console.Error.WriteLine($"restore: {ex.Message}; stop the server, then restore");
            return DatabaseInUseException.ExitCode;
        }
        return Refusable("restore", () =>
        {
            var report = backup.Restore(Path.GetFullPath(folder));
            Console.WriteLine($"restored from {report.Folder}:");
            foreach (var f in report.Restored) Console.WriteLine("  " + f);
            if (report.KeptAside.Count > 0) Console.WriteLine("previous files kept aside (delete them once the restored server looks right):");
            foreach (var f in report.KeptAside) Console.WriteLine("  " + f);
        });
    }

    /// <summary>The host's services without endpoints (mapping them would open the databases) and without starting anything.</summary>
    private static WebApplication OfflineHost(IEnumerable<string> settings)
    {
        var builder = CdpApp.CreateBuilder([.. settings, "--Cdp:Scheduling:ServerEnabled=false", "--Logging:LogLevel:Default=Warning"]);
        // backup and restore copy LiteDB's files; a PostgreSQL database is backed up with pg_dump or the provider's snapshots
        PostgresStorage.RefuseUnlessLiteDb(builder.Configuration, "backup and restore of the database files");
        var app = builder.Build();
        CdpApp.ValidateSettings(app.Services);
        return app;
    }

    private static int Refusable(string verb, Action work)
    {
        try
        {
            work();
            return 0;
        }
        catch (BackupRefusedException ex)
        {
            Console.Error.WriteLine($"{verb}: {ex.Message}");
            return 1;
        }
    }

    private static void Print(BackupReport report)
    {
        Console.WriteLine($"backup written to {report.Folder} in {report.DurationMs:0} ms:");
        foreach (var f in report.Files) Console.WriteLine($"  {f.File}  {f.Bytes:N0} bytes  sha256 {f.Sha256}");
    }
}
