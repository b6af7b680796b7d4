using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Activation;
using Cdp.Tests.Collection;
using Cdp.Tests.Support;
using Xunit.Abstractions;

namespace Cdp.Tests.Governance;

/// <summary>A webhook receiver that answers slowly, so that a sync of a few hundred members takes seconds and can be killed midway.</summary>
public sealed class SlowWebhook : VendorFake
{
    public ConcurrentQueue<string> Upserted { get; } = new();

    public int Batches => Requests.Count;

    protected override FakeResponse Handle(FakeRequest request)
    {
        Thread.Sleep(60);
        var body = request.Json!;
        if (body["type"]!.GetValue<string>() == "members.upserted")
            foreach (var m in body["members"]!.AsArray()) Upserted.Enqueue(m!["identifier"]!.GetValue<string>());
        return new FakeResponse(204);
    }
}

/// <summary>SIGKILL during a sync: after the restart the sync completes, each member arrives, and only the batch in flight can arrive twice.</summary>
public sealed class SyncCrashTests(ITestOutputHelper output)
{
    private const int People = 200;
    private const int BatchSize = 5;
    private static readonly string Secret = "whsec_" + Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)(i * 3)).ToArray());

    [Fact]
    public async Task A_sync_killed_midway_completes_after_the_restart_without_duplicate_adds_and_its_run_says_interrupted()
    {
        using var folder = new TempFolder();
        using var hook = new SlowWebhook();
        var settings = new Dictionary<string, string>
        {
            ["Cdp:Segments:with-email:Name"] = "With an e-mail",
            ["Cdp:Segments:with-email:Where"] = "traits.email exists",
            ["Cdp:Destinations:hook:Type"] = "Webhook",
            ["Cdp:Destinations:hook:BaseUrl"] = hook.Url + "/members",
            ["Cdp:Destinations:hook:Secret"] = Secret,
            ["Cdp:Destinations:hook:BatchSize"] = BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Cdp:Destinations:hook:MaxConcurrency"] = "1",
            ["Cdp:Syncs:push:Segment"] = "with-email",
            ["Cdp:Syncs:push:Destination"] = "hook",
            ["Cdp:Syncs:push:Cron"] = "0 0 1 1 *",
            ["Cdp:Syncs:push:ConsentPurpose"] = "",
            ["Logging:LogLevel:Default"] = "Warning",
        };

        using (var cdp = await CdpProcess.StartAsync(folder.Path, settings))
        {
            var batch = "{\"batch\":[" + string.Join(",", Enumerable.Range(1, People).Select(i =>
                "{\"type\":\"identify\",\"userId\":\"u" + i + "\",\"traits\":{\"email\":\"person" + i + "@example.com\"}}")) + "]}";
            (await cdp.TrackingClient().PostAsync("/v1/batch", TrackingApiTests.Json(batch))).EnsureSuccessStatusCode();
            var admin = cdp.AdminClient();
            await Eventually.Until(async () => (await admin.GetFromJsonAsync<JsonElement>("/api/segments/with-email")).GetProperty("members").GetInt64() == People, "every person in the segment", seconds: 60);

            _ = admin.PostAsync("/api/activation/syncs/push/run", null); // answers when the run ends: it will not
            await Eventually.Until(() => hook.Batches >= 8, "eight batches at the webhook", seconds: 60);
            cdp.Kill();
        }
        var beforeRestart = hook.Upserted.Count;
        beforeRestart.Should().BeLessThan(People, "the kill came mid-sync");

        using (var cdp = await CdpProcess.StartAsync(folder.Path, settings))
        {
            var admin = cdp.AdminClient();
            var runs = await admin.GetFromJsonAsync<JsonElement>("/api/activation/syncs/push/runs");
            var interrupted = runs.EnumerateArray().Single();
            interrupted.GetProperty("status").GetString().Should().Be("failed");
            interrupted.GetProperty("stoppedBecause").GetString().Should().StartWith("interrupted");

            var resumed = await (await admin.PostAsync("/api/activation/syncs/push/run", null)).Content.ReadFromJsonAsync<JsonElement>();
            resumed.GetProperty("status").GetString().Should().Be("succeeded");
            var again = await (await admin.PostAsync("/api/activation/syncs/push/run", null)).Content.ReadFromJsonAsync<JsonElement>();
            again.GetProperty("counts").GetProperty("added").GetInt64().Should().Be(0, "nothing changed since the completed run");

            var metrics = (await admin.MetricsText()).Split('\n');
            metrics.Should().Contain("cdp_sync_runs_total{destination=\"hook\",status=\"succeeded\"} 2");
            var added = metrics.Single(l => l.StartsWith("cdp_sync_members_total{change=\"added\",destination=\"hook\"}", StringComparison.Ordinal));
            long.Parse(added.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture).Should().Be(resumed.GetProperty("counts").GetProperty("added").GetInt64());
            metrics.Should().Contain("cdp_sync_members_total{change=\"failed\",destination=\"hook\"} 0");
        }

        var received = hook.Upserted.ToList();
        received.Distinct().Should().HaveCount(People, "every member arrived");
        var twice = received.GroupBy(e => e).Where(g => g.Count() > 1).ToList();
        twice.Where(g => g.Count() != 2).Should().BeEmpty("a member is sent at most twice (none when the kill fell between batches)");
        twice.Count.Should().BeLessThanOrEqualTo(BatchSize, "only the batch in flight at the kill (sent, not yet committed) is sent again");
        output.WriteLine($"killed after {beforeRestart} of {People} members were received; after the restart {received.Count - beforeRestart} more; {twice.Count} received twice (the batch in flight)");
    }
}
