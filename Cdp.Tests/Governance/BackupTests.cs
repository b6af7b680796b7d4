using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Governance.Contracts;
using Cdp.Tests.Collection;
using Cdp.Tests.Support;

namespace Cdp.Tests.Governance;

public sealed class BackupTests
{
    /// <summary>LiteDB only, whatever CDP_TEST_PROVIDER says: backup and restore copy LiteDB's files.</summary>
    private const string LiteDbOnlyBecause = "backup and restore copy LiteDB's files";

    private static async Task<int> SendEvents(HttpClient tracking, string prefix, int count)
    {
        var batch = "{\"batch\":[" + string.Join(",", Enumerable.Range(0, count).Select(i => $$"""{"type":"track","userId":"{{prefix}}-{{i}}","event":"E","messageId":"{{prefix}}-{{i}}"}""")) + "]}";
        var response = await tracking.PostAsync("/v1/batch", TrackingApiTests.Json(batch));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return count;
    }

    [Fact]
    public async Task A_backup_taken_during_ingest_opens_and_holds_a_gapless_prefix_of_the_event_log()
    {
        using var backups = new TempFolder();
        BackupReport report;
        using (var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause, new Dictionary<string, string?> { ["Cdp:Storage:BackupRoot"] = backups.Path }))
        {
            var tracking = host.TrackingClient();
            await SendEvents(tracking, "before", 500);
            using var stop = new CancellationTokenSource();
            var ingest = Task.Run(async () =>
            {
                var n = 0;
                while (!stop.IsCancellationRequested) n += await SendEvents(tracking, "during-" + n, 100);
                return n;
            });
            await Task.Delay(200);
            var response = await host.AdminClient().PostAsJsonAsync("/api/admin/backup", new { folder = "b1" });
            response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
            report = (await response.Content.ReadFromJsonAsync<BackupReport>())!;
            stop.Cancel();
            (await ingest).Should().BeGreaterThan(0);

            var again = await host.AdminClient().PostAsJsonAsync("/api/admin/backup", new { folder = backups.File("b1") }); // absolute, inside the root
            again.StatusCode.Should().Be(HttpStatusCode.Conflict, "the folder is not empty");
            (await host.AdminClient(CdpHost.AnalystKey).PostAsJsonAsync("/api/admin/backup", new { })).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        }

        report.Files.Select(f => f.Name).Should().Equal("data", "jobs");
        File.Exists(Path.Combine(report.Folder, "backup.json")).Should().BeTrue();
        File.Exists(Path.Combine(report.Folder, "cdp-log.db")).Should().BeFalse("a backup is a data file without a log");

        // the copy opens as a Cdp database: the log is 1..N without a gap, N >= the events acknowledged before the backup
        using var restored = new TempFolder();
        File.Copy(Path.Combine(report.Folder, "cdp.db"), restored.File("cdp.db"));
        File.Copy(Path.Combine(report.Folder, "cdp-jobs.db"), restored.File("cdp-jobs.db"));
        using var copy = CdpHost.LiteDbOnly(LiteDbOnlyBecause, folder: restored);
        var log = copy.Service<IEventLog>();
        log.LastSequence.Should().BeGreaterThanOrEqualTo(500);
        var sequences = new List<long>();
        for (long after = 0; ;)
        {
            var page = log.ReadAfter(after, 5000);
            if (page.Count == 0) break;
            sequences.AddRange(page.Select(e => e.Sequence));
            after = page[^1].Sequence;
        }
        sequences.Should().Equal(Enumerable.Range(1, (int)log.LastSequence).Select(i => (long)i));
    }

    [Fact]
    public async Task A_damaged_or_foreign_backup_is_refused_before_anything_is_touched()
    {
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause);
        var backup = host.Service<IDatabaseBackup>();
        var report = backup.Create(Path.Combine(host.DataFolder, "bk"));

        var notABackup = () => backup.Restore(host.DataFolder + "/nothing-here");
        notABackup.Should().Throw<BackupRefusedException>().WithMessage("*backup.json is missing*");

        var copy = Path.Combine(report.Folder, "cdp.db");
        var bytes = File.ReadAllBytes(copy);
        bytes[^100] ^= 0xFF;
        File.WriteAllBytes(copy, bytes);
        var damaged = () => backup.Restore(report.Folder);
        damaged.Should().Throw<BackupRefusedException>().WithMessage("*does not match its SHA-256*");

        File.WriteAllText(copy, "not a database");
        var manifest = Path.Combine(report.Folder, "backup.json");
        var json = File.ReadAllText(manifest).Replace(report.Files[0].Sha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("not a database"))));
        File.WriteAllText(manifest, json);
        var unreadable = () => backup.Restore(report.Folder);
        unreadable.Should().Throw<BackupRefusedException>().WithMessage("*does not open as a LiteDB database*");
    }

    [Fact]
    public async Task Backup_verb_through_the_server_and_offline_and_restore_refused_while_running_then_put_in_place()
    {
        using var folder = new TempFolder();
        var settings = $"--Cdp:Storage:Path={folder.File("cdp.db")}";
        var bk1 = Path.Combine(folder.Path, "backups", "bk-online"); // the server writes only inside its backup root (default: backups/ beside cdp.db)
        var bk2 = folder.File("bk-offline");
        using (var cdp = await CdpProcess.StartAsync(folder.Path))
        {
            await SendEvents(cdp.TrackingClient(), "a", 300);
            var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, "backup", bk1, "--server", cdp.BaseAddress.ToString(), "--key", CdpHost.AdminKey);
            code.Should().Be(0, output);
            output.Should().Contain("cdp.db").And.Contain("cdp-jobs.db");
            await SendEvents(cdp.TrackingClient(), "b", 200); // after the backup: gone after the restore

            (code, output) = await CdpProcess.RunToExitAsync(folder.Path, "backup", bk2, settings, $"--Cdp:Admin:ApiKeys:ops:Key={CdpHost.AdminKey}");
            code.Should().Be(2, output);
            output.Should().Contain($"{folder.File("cdp.db")} is in use by another Cdp process (pid {cdp.Pid})").And.Contain("--server");
            (code, output) = await CdpProcess.RunToExitAsync(folder.Path, "restore", bk1, settings);
            code.Should().Be(2, output);
            output.Should().Contain("is in use by another Cdp process").And.Contain("stop the server");
            cdp.Kill();
        }

        var (offline, offlineOutput) = await CdpProcess.RunToExitAsync(folder.Path, "backup", bk2, settings);
        offline.Should().Be(0, offlineOutput);
        JsonDocument.Parse(File.ReadAllText(Path.Combine(bk2, "backup.json"))).RootElement.GetProperty("files").GetArrayLength().Should().Be(2);

        var (restore, restoreOutput) = await CdpProcess.RunToExitAsync(folder.Path, "restore", bk1, settings);
        restore.Should().Be(0, restoreOutput);
        Directory.GetFiles(folder.Path, "cdp.db.before-restore-*").Should().ContainSingle();
        Directory.GetFiles(folder.Path, "cdp-jobs.db.before-restore-*").Should().ContainSingle();

        using var again = await CdpProcess.StartAsync(folder.Path);
        var page = await again.AdminClient().GetFromJsonAsync<JsonElement>("/api/collection/events?limit=1000");
        page.GetProperty("lastSequence").GetInt64().Should().Be(300, "the backup was taken after 300 acknowledged events and before the next 200");
    }

    [Fact]
    public async Task A_checkpoint_empties_the_log_file()
    {
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause);
        await SendEvents(host.TrackingClient(), "c", 1000);
        await host.Processed(); // the processor's writes would otherwise grow the log again after the checkpoint
        var logFile = Path.Combine(host.DataFolder, "cdp-log.db");
        var before = new FileInfo(logFile).Length;
        before.Should().BeGreaterThan(0);
        (await host.AdminClient().PostAsync("/api/scheduling/recurring/litedb-checkpoint/trigger", null)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (new FileInfo(logFile).Length >= before && DateTime.UtcNow < deadline) await Task.Delay(100);
        new FileInfo(logFile).Length.Should().BeLessThan(before);
    }
}
