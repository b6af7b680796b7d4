using System.Diagnostics;
using System.Net;
using System.Text;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using FluentAssertions;

namespace Cdp.Tests.Shared;

/// <summary>
/// Cdp on a real full filesystem (a small tmpfs, see <see cref="SmallFilesystem"/>: mounted by the test as root or through
/// sudo -n, or given in CDP_TEST_SMALL_FS; skipped, saying why, where none can be had). While the disk is full: ingest
/// answers 503, readiness is unhealthy, /metrics says so. Once space is freed, ingest and processing resume by themselves,
/// and everything acknowledged before is still there. Before the fix every commit kept failing after the space came back
/// ("A LiteDB transaction is already open on this thread") and readiness said Healthy.
/// </summary>
public sealed class DiskFullTests
{
    /// <summary>LiteDB only, whatever CDP_TEST_PROVIDER says: about LiteDB's file on a full disk.</summary>
    private const string LiteDbOnlyBecause = "about LiteDB's file on a full disk";

    private const int FilesystemMegabytes = 24;

    private static string Track(string userId, int n) =>
        $$$"""{"userId":"{{{userId}}}","event":"Viewed","messageId":"{{{userId}}}-{{{n}}}","properties":{"n":{{{n}}}}}""";

    private static Task<HttpResponseMessage> Post(HttpClient tracking, string json) =>
        tracking.PostAsync("/v1/track", new StringContent(json, Encoding.UTF8, "application/json"));

    [SkippableFact]
    public async Task Ingest_and_processing_resume_by_themselves_when_space_returns_and_nothing_acknowledged_is_lost()
    {
        using var fs = SmallFilesystem.TryCreate(FilesystemMegabytes, out var whyNot);
        Skip.If(fs is null, whyNot);
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause, new Dictionary<string, string?>
        {
            ["Cdp:Storage:Path"] = Path.Combine(fs!.Path, "cdp.db"),
            ["Cdp:Storage:CheckpointPages"] = "50", // checkpoints (writes to the data file) happen while the disk is full too
            ["Cdp:Storage:MinFreeBytes"] = "0", // the disk really fills: no refusal ahead of it
        });
        using var tracking = host.TrackingClient();
        using var admin = host.AdminClient();

        var acknowledged = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var response = await Post(tracking, Track("before-" + i, i));
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            acknowledged.Add("before-" + i);
        }
        await host.Processed();

        fs.Fill();
        var refused = 0;
        for (var i = 0; i < 200 && refused < 5; i++)
        {
            var response = await Post(tracking, Track("full-" + i, i));
            if (response.StatusCode == HttpStatusCode.OK) acknowledged.Add("full-" + i); // the log's last free page
            else
            {
                response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
                refused++;
            }
        }
        refused.Should().Be(5, "commits fail while the disk is full");
        var ready = await admin.GetAsync("/health/ready");
        ready.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await ready.Content.ReadAsStringAsync()).Should().StartWith("Unhealthy").And.MatchRegex("\nstorage: .*fail", "the reason follows the status word");
        var metrics = await admin.MetricsText();
        metrics.Should().Contain("\ncdp_storage_writable 0\n");
        metrics.Should().MatchRegex(@"\ncdp_storage_write_failures_total [1-9]");
        host.Service<StorageHealth>().Failing.Should().Contain(f => f.Reason.StartsWith("disk full"));

        fs.Free();
        var clock = Stopwatch.StartNew();
        var resumed = false;
        for (var i = 0; i < 20; i++)
        {
            HttpResponseMessage response;
            do
            {
                response = await Post(tracking, Track("after-" + i, i));
                if (response.StatusCode != HttpStatusCode.OK) await Task.Delay(100);
            }
            while (response.StatusCode != HttpStatusCode.OK && clock.Elapsed < TimeSpan.FromSeconds(30));
            response.StatusCode.Should().Be(HttpStatusCode.OK, "ingest resumes without a restart");
            resumed = true;
            acknowledged.Add("after-" + i);
        }
        resumed.Should().BeTrue();
        await host.Processed(); // the processor's failed batches went through once there was room

        foreach (var user in acknowledged)
            (await admin.Profile("user_id:" + user)).Should().NotBeNull($"{user} was acknowledged");
        host.Service<IEventLog>().LastSequence.Should().Be(acknowledged.Count, "every acknowledged event is in the log once");
        var readyAgain = Stopwatch.StartNew();
        while ((await admin.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK && readyAgain.Elapsed < TimeSpan.FromSeconds(15))
            await Task.Delay(200);
        (await admin.GetAsync("/health/ready")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await admin.MetricsText()).Should().Contain("\ncdp_storage_writable 1\n");
    }

    [Fact]
    public async Task Ingest_answers_503_and_readiness_is_unhealthy_while_free_space_is_below_MinFreeBytes()
    {
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause, new Dictionary<string, string?> { ["Cdp:Storage:MinFreeBytes"] = (1L << 60).ToString() }); // no disk has an exabyte free
        using var tracking = host.TrackingClient();
        using var admin = host.AdminClient();

        var response = await Post(tracking, Track("u1", 1));

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await response.Content.ReadAsStringAsync()).Should().Contain("Storage almost full");
        response.Headers.RetryAfter.Should().NotBeNull();
        host.Service<IEventLog>().LastSequence.Should().Be(0, "nothing was written");
        var ready = await admin.GetAsync("/health/ready");
        ready.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await ready.Content.ReadAsStringAsync()).Should().Contain("Unhealthy");
        (await admin.MetricsText()).Should().MatchRegex(@"\ncdp_storage_free_bytes [1-9]");
    }

    [SkippableFact]
    public async Task Starting_on_a_full_disk_stops_with_exit_code_6_and_a_line_naming_the_file_and_the_cause()
    {
        using var fs = SmallFilesystem.TryCreate(4, out var whyNot);
        Skip.If(fs is null, whyNot);
        var data = Path.Combine(fs!.Path, "data");
        Directory.CreateDirectory(data);
        fs.Fill();
        using var work = new TempFolder();

        var (exitCode, output) = await CdpProcess.RunToExitAsync(work.Path,
            $"--urls=http://127.0.0.1:{CdpProcess.FreePort()}",
            $"--Cdp:Storage:Path={Path.Combine(data, "cdp.db")}",
            $"--Cdp:Sources:web:WriteKey={CdpHost.WriteKey}",
            $"--Cdp:Admin:ApiKeys:ops:Key={CdpHost.AdminKey}");

        exitCode.Should().Be(StorageUnavailableException.ExitCode, output);
        output.Should().Contain("Cdp cannot start").And.Contain(Path.Combine(data, "cdp.db")).And.Contain("disk full");
        output.Should().NotContain("   at ", "a clear line, not a stack trace");
    }
}
