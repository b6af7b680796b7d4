using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using Microsoft.Extensions.Options;
using static Cdp.Tests.Collection.TrackingApiTests;

namespace Cdp.Tests.Collection;

public sealed class EventLogDurabilityTests
{
    [Fact]
    public async Task Deduplication_holds_across_a_restart()
    {
        using var folder = new TempFolder();
        const string body = """{"userId":"u1","event":"A","messageId":"restart-1"}""";
        using (var host = new CdpHost(folder: folder))
            (await host.TrackingClient().PostAsync("/v1/track", Json(body))).StatusCode.Should().Be(HttpStatusCode.OK);
        using (var host = new CdpHost(folder: folder))
        {
            (await host.TrackingClient().PostAsync("/v1/track", Json(body))).StatusCode.Should().Be(HttpStatusCode.OK);
            (await host.TrackingClient().PostAsync("/v1/track", Json("""{"userId":"u1","event":"B"}"""))).StatusCode.Should().Be(HttpStatusCode.OK);
            var events = host.Service<IEventLog>().ReadAfter(0, 100);
            events.Select(e => e.Sequence).Should().Equal(1, 2);
            events[0].MessageId.Should().Be("restart-1");
        }
    }

    [Fact]
    public async Task With_durable_commits_events_are_fsynced_and_acknowledged()
    {
        using var host = CdpHost.LiteDbOnly("about LiteDB's fsync of cdp-log.db", new Dictionary<string, string?> { ["Cdp:Storage:DurableCommits"] = "true" });
        for (var i = 0; i < 3; i++)
            (await host.TrackingClient().PostAsync("/v1/track", Json($$"""{"userId":"u{{i}}","event":"A"}"""))).StatusCode.Should().Be(HttpStatusCode.OK);
        host.Service<IEventLog>().ReadAfter(0, 10).Should().HaveCount(3);
        File.Exists(Path.Combine(host.DataFolder, "cdp-log.db")).Should().BeTrue("LiteDB's log file is the one fsynced");
        if (OperatingSystem.IsLinux()) host.Service<CdpDatabase>().DurableFlushes.Should().BeGreaterThanOrEqualTo(2);
    }

    [Fact]
    public async Task A_message_id_older_than_the_dedup_window_is_stored_again()
    {
        using var folder = new TempFolder();
        var settings = new Dictionary<string, string?> { ["Cdp:Collection:DedupWindow"] = "00:00:00" };
        using var host = new CdpHost(settings, folder);
        const string body = """{"userId":"u1","event":"A","messageId":"window-1"}""";
        await host.TrackingClient().PostAsync("/v1/track", Json(body));
        await host.TrackingClient().PostAsync("/v1/track", Json(body));
        host.Service<IEventLog>().ReadAfter(0, 100).Should().HaveCount(2);
    }

    [Fact]
    public async Task A_full_ingest_queue_answers_429_with_retry_after_and_loses_nothing_it_acknowledged()
    {
        var settings = new Dictionary<string, string?> { ["Cdp:Collection:QueueCapacity"] = "2500" };
        using var host = CdpHost.LiteDbOnly("stalls the log writer by holding LiteDB's write gate", settings);
        var client = host.TrackingClient();
        var batch = "{\"batch\":[" + string.Join(",", Enumerable.Range(0, 1000).Select(i => $$"""{"type":"track","userId":"u","event":"E"}""")) + "]}";

        // Stall the log writer: hold the database's write gate from this thread (an empty transaction).
        var db = host.Service<CdpDatabase>();
        var stalled = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        var holder = new Thread(() => db.InTransaction(_ =>
        {
            stalled.Set();
            release.Wait();
        }));
        holder.Start();
        stalled.Wait();

        var first = Enumerable.Range(0, 3).Select(_ => client.PostAsync("/v1/batch", Json(batch))).ToList();
        var writer = host.Service<Cdp.Modules.Collection.EventLog.EventLogWriter>();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (writer.PendingEvents < 2_000 && waited.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(20); // the queue holds at least two of them
        var rejected = await client.PostAsync("/v1/batch", Json(batch));
        rejected.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        rejected.Headers.RetryAfter.Should().NotBeNull();
        (await rejected.Content.ReadAsStringAsync()).Should().Contain("queue is full");

        release.Set();
        holder.Join();
        var statuses = (await Task.WhenAll(first)).Select(r => r.StatusCode).ToList();
        var accepted = statuses.Count(s => s == HttpStatusCode.OK);
        statuses.Should().OnlyContain(s => s == HttpStatusCode.OK || s == HttpStatusCode.TooManyRequests);
        accepted.Should().BeGreaterThanOrEqualTo(2);
        host.Service<IEventLog>().ReadAfter(0, 10_000).Should().HaveCount(accepted * 1000);
    }

    [Theory]
    [InlineData("Cdp:Sources:web:WriteKey", "", "Cdp:Sources:web:WriteKey")]
    [InlineData("Cdp:Collection:QueueCapacity", "10", "Cdp:Collection:QueueCapacity")]
    [InlineData("Cdp:Admin:ApiKeys:ops:Key", "short", "Cdp:Admin:ApiKeys:ops:Key")]
    [InlineData("Cdp:Storage:Path", "", "Cdp:Storage:Path")]
    public async Task The_host_refuses_to_start_with_invalid_settings_naming_the_setting(string key, string value, string named)
    {
        using var folder = new TempFolder();
        Microsoft.AspNetCore.Builder.WebApplication? app = null;
        var buildAndValidate = () =>
        {
            // some modules read their settings while the host is built: either step may refuse, as Program does
            app = Cdp.Host.CdpApp.Build(Cdp.Host.CdpApp.CreateBuilder([
                $"--Cdp:Storage:Path={folder.File("cdp.db")}", "--Cdp:Admin:ApiKeys:ops:Key=" + CdpHost.AdminKey, $"--{key}={value}"]));
            Cdp.Host.CdpApp.ValidateSettings(app!.Services);
        };
        buildAndValidate.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain(named);
        if (app is not null) await app.DisposeAsync();
    }

    [Fact]
    public async Task The_executable_exits_with_code_2_and_prints_the_bad_setting()
    {
        using var folder = new TempFolder();
        var (exitCode, output) = await CdpProcess.RunToExitAsync(folder.Path, "--Cdp:Sources:web:WriteKey=");
        exitCode.Should().Be(2);
        output.Should().Contain("invalid settings").And.Contain("Cdp:Sources:web:WriteKey");
    }

    public static TheoryData<string> Providers => CdpHost.Providers;

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Acknowledged_events_survive_sigkill_right_after_the_ack_exactly_once(string provider)
    {
        using var folder = new TempFolder();
        var settings = provider == Cdp.Modules.Shared.Storage.StorageProviders.PostgreSql
            ? new Dictionary<string, string> { ["Cdp:Storage:Provider"] = provider, ["Cdp:Storage:ConnectionString"] = await PostgresServer.CreateDatabaseAsync() }
            : null;
        var acknowledged = new List<string>();
        using (var cdp = await CdpProcess.StartAsync(folder.Path, settings))
        {
            var client = cdp.TrackingClient();
            var sends = Enumerable.Range(0, 400).Select(async i =>
            {
                var id = $"kill-{i}";
                var body = i % 4 == 0
                    ? "{\"batch\":[" + string.Join(",", Enumerable.Range(0, 5).Select(k => $$"""{"type":"track","userId":"u{{i}}","event":"E","messageId":"{{id}}-{{k}}"}""")) + "]}"
                    : $$"""{"userId":"u{{i}}","event":"E","messageId":"{{id}}"}""";
                var response = await client.PostAsync(i % 4 == 0 ? "/v1/batch" : "/v1/track", Json(body));
                if (response.StatusCode != HttpStatusCode.OK) return;
                lock (acknowledged)
                {
                    if (i % 4 == 0) acknowledged.AddRange(Enumerable.Range(0, 5).Select(k => $"{id}-{k}"));
                    else acknowledged.Add(id);
                }
            }).ToList();
            // kill as soon as the first 300 requests are acknowledged, while others are in flight
            while (true)
            {
                lock (acknowledged) if (acknowledged.Count >= 300) break;
                await Task.Delay(1);
            }
            cdp.Kill();
            await Task.WhenAll(sends.Select(t => t.ContinueWith(_ => { })));
        }

        using (var cdp = await CdpProcess.StartAsync(folder.Path, settings))
        {
            var stored = new List<string>();
            long after = 0;
            while (true)
            {
                var page = await cdp.AdminClient().GetFromJsonAsync<JsonElement>($"/api/collection/events?cursor={after}&limit=1000");
                var items = page.GetProperty("items").EnumerateArray().ToList();
                stored.AddRange(items.Select(e => e.GetProperty("messageId").GetString()!));
                if (items.Count < 1000) break;
                after = items[^1].GetProperty("sequence").GetInt64();
            }
            stored.Should().OnlyHaveUniqueItems();
            stored.Should().Contain(acknowledged);
        }
    }
}

public sealed class RateLimitTests
{
    [Fact]
    public async Task A_write_key_over_its_request_rate_gets_429_with_retry_after_and_nothing_is_stored_for_those()
    {
        using var host = new CdpHost(new Dictionary<string, string?> { ["Cdp:Sources:web:MaxRequestsPerSecond"] = "2" });
        var client = host.TrackingClient();
        var statuses = new List<System.Net.HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            var response = await client.PostAsync("/v1/track", TrackingApiTests.Json($$"""{"userId":"u{{i}}","event":"A"}"""));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == System.Net.HttpStatusCode.TooManyRequests) response.Headers.RetryAfter.Should().NotBeNull();
        }
        statuses.Should().Contain(System.Net.HttpStatusCode.TooManyRequests);
        var ok = statuses.Count(s => s == System.Net.HttpStatusCode.OK);
        ok.Should().BeInRange(4, 7, "a burst of 4, plus up to 2 per second while the loop runs");
        host.Service<Cdp.Modules.Collection.Contracts.IEventLog>().ReadAfter(0, 100).Should().HaveCount(ok);

        // another source is not limited by this one
        var other = host.TrackingClient(CdpHost.StrictWriteKey);
        (await other.PostAsync("/v1/track", TrackingApiTests.Json("""{"userId":"x","event":"A"}"""))).StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
    }
}
