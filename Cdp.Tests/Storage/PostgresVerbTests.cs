using Cdp.Host;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.Copy;
using Cdp.Tests.Support;

namespace Cdp.Tests.Storage;

/// <summary>
/// The CLI verbs that change identity (unmerge), only look (identity dry-run) or rebuild (reprocess), as processes on a
/// PostgreSQL database made by the real host. What a verb changed is read as the installation's record sets with their
/// checksums (<see cref="StorageCopier.Checksums"/>), the same on any provider.
/// </summary>
public sealed class PostgresVerbTests
{
    private static async Task<string> Snapshot(string[] settings)
    {
        await using var app = CdpApp.Build(CdpApp.CreateBuilder([.. settings, "--Cdp:Scheduling:ServerEnabled=false", "--Logging:LogLevel:Default=Warning"]));
        return StoredState.IdentityAndProfiles(app.Services);
    }

    [SkippableFact]
    public async Task Unmerge_dry_run_and_reprocess_verbs_work_on_PostgreSQL_and_the_dry_run_changes_nothing()
    {
        using var folder = new TempFolder();
        var database = await PostgresServer.CreateDatabaseAsync();
        var storage = new Dictionary<string, string?> { ["Cdp:Storage:Provider"] = StorageProviders.PostgreSql, ["Cdp:Storage:ConnectionString"] = database };
        string mergeId;
        using (var host = new CdpHost(storage, folder))
        {
            var web = host.TrackingClient();
            await web.Send("identify", """{"anonymousId":"laptop","traits":{"email":"jane@example.com"},"timestamp":"2026-01-01T10:00:00Z"}""");
            await web.Send("page", """{"anonymousId":"phone","name":"Home","timestamp":"2026-01-02T10:00:00Z"}""");
            await web.Send("track", """{"anonymousId":"phone","event":"Email Clicked","context":{"traits":{"email":"jane@example.com"}},"timestamp":"2026-01-03T10:00:00Z"}""");
            await host.Processed();
            var admin = host.AdminClient();
            var jane = await admin.ProfileId("email:jane@example.com");
            (await admin.ProfileId("anonymous_id:phone")).Should().Be(jane);
            mergeId = (await admin.Profile(jane, "merges"))!.Value.GetProperty("merges")[0].GetProperty("id").GetString()!;
        }
        string[] settings = [$"--Cdp:Storage:Path={folder.File("cdp.db")}", .. storage.Select(s => $"--{s.Key}={s.Value}")];
        var merged = await Snapshot(settings);
        merged.Should().Contain("Identity merges: 1 ");

        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, ["unmerge", mergeId, .. settings]);

        code.Should().Be(0, output);
        var unmerged = await Snapshot(settings);
        unmerged.Should().Contain("Identity merges: 0 ").And.Contain("Identity unmerges: 1 ");
        (await CdpProcess.RunToExitAsync(folder.Path, ["unmerge", "m0-0", .. settings])).ExitCode.Should().Be(3, "an unknown merge id is an error");

        var proposal = folder.File("proposed.json");
        await File.WriteAllTextAsync(proposal, """{"Cdp":{"Identity":{"Types":{"anonymous_id":{"Priority":5,"Limit":1}}}}}""");
        (code, output) = await CdpProcess.RunToExitAsync(folder.Path, ["identity", "dry-run", proposal, .. settings]);
        code.Should().Be(0, output);
        (await Snapshot(settings)).Should().Be(unmerged, "a dry run changes nothing");
        File.Exists(folder.File("cdp.db")).Should().BeFalse("no LiteDB file is made on PostgreSQL");

        (code, output) = await CdpProcess.RunToExitAsync(folder.Path, ["reprocess", .. settings]);
        code.Should().Be(0, output);
        (await Snapshot(settings)).Should().Be(unmerged, "a reprocess keeps the unmerge decision and rebuilds the same state");
    }
}
