using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Tests.Profiles;
using Cdp.Tests.Support;
using CsCheck;

namespace Cdp.Tests.Pipeline;

/// <summary>
/// Several Cdp hosts on one PostgreSQL (Cdp:Storage:Hosts = Several, issue #28): real host processes, events sent to both,
/// retries through "the load balancer" reaching the other host, and the processor's leader killed with SIGKILL while
/// events wait to be processed.
/// </summary>
public sealed class SeveralHostsTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Two host processes, each with its own folder, on one fresh PostgreSQL database with Hosts = Several.</summary>
    private sealed class TwoHosts : IDisposable
    {
        public required Dictionary<string, string> Settings { get; init; }
        public TempFolder FolderA { get; } = new();
        private readonly TempFolder _folderB = new();
        public CdpProcess A { get; private set; } = null!;
        public CdpProcess B { get; private set; } = null!;

        public static async Task<TwoHosts> StartAsync(IDictionary<string, string>? more = null)
        {
            var hosts = new TwoHosts
            {
                Settings = new(more ?? new Dictionary<string, string>())
                {
                    ["Cdp:Storage:Provider"] = "PostgreSql",
                    ["Cdp:Storage:ConnectionString"] = await PostgresServer.CreateDatabaseAsync(),
                    ["Cdp:Storage:Hosts"] = "Several",
                    ["Cdp:Profiles:BatchSize"] = "250",
                    ["Cdp:Profiles:CatchUpBatchSize"] = "250",
                    ["Logging:LogLevel:Default"] = "Warning",
                },
            };
            try
            {
                hosts.A = await CdpProcess.StartAsync(hosts.FolderA.Path, hosts.Settings);
                hosts.B = await CdpProcess.StartAsync(hosts._folderB.Path, hosts.Settings);
                return hosts;
            }
            catch
            {
                hosts.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            A?.Dispose();
            B?.Dispose();
            FolderA.Dispose();
            _folderB.Dispose();
        }
    }

    [SkippableFact]
    public async Task When_the_leader_is_killed_under_load_the_other_host_takes_over_and_every_acknowledged_event_is_processed_once()
    {
        using var hosts = await TwoHosts.StartAsync(new Dictionary<string, string>
        {
            ["Cdp:Segments:buyers:Where"] = "performed \"Order Completed\" at least 2 times",
            ["Cdp:Segments:with-email:Where"] = "traits.email exists",
        });
        var (a, b, settings) = (hosts.A, hosts.B, hosts.Settings);
        var (leader, follower) = await Roles(a, b);

        var events = RebuildPropertyTests.GroupedEvent.Array[6_000].Generate(new PCG(28, 1), null, out _);
        var batches = events.Chunk(500).Select(c => "{\"batch\":[" + string.Join(",", c) + "]}").ToList();
        // the first half to both hosts in turn, each batch acknowledged; every third one sent again to the other host
        for (var i = 0; i < 6; i++)
        {
            await Send(i % 2 == 0 ? leader : follower, batches[i]);
            if (i % 3 == 0) await Send(i % 2 == 0 ? follower : leader, batches[i]);
        }
        var admin = leader.AdminClient();
        JsonElement status;
        do status = await admin.GetFromJsonAsync<JsonElement>("/api/profiles/processor");
        while (status.GetProperty("checkpoint").GetInt64() < 250);
        // the rest to the follower while the leader dies; the follower also gets a retry of a batch the leader stored
        var rest = Task.Run(async () =>
        {
            for (var i = 6; i < batches.Count; i++) await Send(follower, batches[i]);
            await Send(follower, batches[2]);
        });
        var killedAt = status.GetProperty("checkpoint").GetInt64();
        var killed = Stopwatch.StartNew();
        leader.Kill(); // SIGKILL
        await rest;

        var followerAdmin = follower.AdminClient();
        var takeover = TimeSpan.Zero;
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            status = await followerAdmin.GetFromJsonAsync<JsonElement>("/api/profiles/processor");
            if (takeover == TimeSpan.Zero && status.GetProperty("leading").GetBoolean()) takeover = killed.Elapsed;
            if (status.GetProperty("leading").GetBoolean() && status.GetProperty("checkpoint").GetInt64() >= status.GetProperty("logHead").GetInt64()) break;
            DateTime.UtcNow.Should().BeBefore(deadline, $"the follower takes over and catches up (killed at checkpoint {killedAt}):\n{follower.Output}");
            await Task.Delay(100);
        }
        output.WriteLine($"killed at checkpoint {killedAt} of {status.GetProperty("logHead").GetInt64()}; the follower led after {takeover.TotalMilliseconds:F0} ms and had caught up after {killed.Elapsed.TotalMilliseconds:F0} ms");
        takeover.Should().BeLessThan(TimeSpan.FromSeconds(15), "the follower takes the lead within seconds of the leader's death");
        killedAt.Should().BeLessThan(status.GetProperty("logHead").GetInt64(), "the leader died with events waiting to be processed");

        var logged = await MessageIds(followerAdmin);
        logged.Should().OnlyHaveUniqueItems("a retry that reached the other host is stored once")
            .And.BeEquivalentTo(events.Select(e => JsonDocument.Parse(e).RootElement.GetProperty("messageId").GetString()), "every acknowledged event is in the log");
        status.GetProperty("logHead").GetInt64().Should().Be(events.Length);

        var afterFailover = await AdminReads.ProfilesOf(followerAdmin);
        afterFailover.Should().NotBeEmpty();
        var membersAfterFailover = await AdminReads.SegmentMembersOf(followerAdmin);
        membersAfterFailover.Should().Contain("buyers: p_").And.Contain("with-email: p_", "both segments have members");
        (await followerAdmin.PostAsync("/api/profiles/reprocess", null)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await AdminReads.CaughtUp(followerAdmin);
        (await AdminReads.ProfilesOf(followerAdmin)).Should().Be(afterFailover, "a single host's rebuild from the log gives what the fail-over left: no event lost or applied twice");
        (await AdminReads.SegmentMembersOf(followerAdmin)).Should().Be(membersAfterFailover, "and the same segment memberships");
    }

    [SkippableFact]
    public async Task A_follower_says_who_leads_follows_the_checkpoint_and_refuses_processor_commands_and_erasures_naming_the_leader_and_a_verb_waits_for_every_host()
    {
        using var hosts = await TwoHosts.StartAsync();
        var (a, b, settings) = (hosts.A, hosts.B, hosts.Settings);
        var (leader, follower) = await Roles(a, b);
        var leaderStatus = await leader.AdminClient().GetFromJsonAsync<JsonElement>("/api/profiles/processor");
        var leaderName = leaderStatus.GetProperty("host").GetString()!;
        leaderName.Should().EndWith($"pid {leader.Pid}");

        var followerStatus = await follower.AdminClient().GetFromJsonAsync<JsonElement>("/api/profiles/processor");
        followerStatus.GetProperty("leading").GetBoolean().Should().BeFalse();
        followerStatus.GetProperty("leader").GetString().Should().Be(leaderName);
        var readiness = await follower.AdminClient().GetAsync("/health/ready");
        (await readiness.Content.ReadAsStringAsync()).Should().Be("Healthy", "a follower serves the APIs: it is ready");
        readiness.Headers.GetValues("Cdp-Processor-Leading").Should().Equal("false");
        readiness.Headers.GetValues("Cdp-Processor-Leader").Should().Equal(leaderName);
        (await leader.AdminClient().GetAsync("/health/ready")).Headers.GetValues("Cdp-Processor-Leading").Should().Equal("true");

        await Send(leader, """{"batch":[{"type":"identify","userId":"u-1","traits":{"email":"jane@example.com"}}]}""");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await follower.AdminClient().GetFromJsonAsync<JsonElement>("/api/profiles/processor")).GetProperty("checkpoint").GetInt64() < 1)
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "the follower's checkpoint follows the leader's");
            await Task.Delay(100);
        }
        var deletion = await follower.AdminClient().PostAsJsonAsync("/api/privacy/deletions", new { identifierType = "user_id", value = "u-1" });
        deletion.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "an erasure runs on the processor's thread, which is the leader's");
        (await deletion.Content.ReadAsStringAsync()).Should().Contain(leaderName);

        var pause = await follower.AdminClient().PostAsync("/api/profiles/processor/pause", null);
        pause.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await pause.Content.ReadAsStringAsync()).Should().Contain(leaderName);
        (await leader.AdminClient().PostAsync("/api/profiles/processor/pause", null)).IsSuccessStatusCode.Should().BeTrue();

        var verb = await CdpProcess.RunToExitAsync(hosts.FolderA.Path, ["reprocess", .. settings.Select(s => $"--{s.Key}={s.Value}")]);
        verb.ExitCode.Should().Be(2, $"a verb needs every server stopped:\n{verb.Output}");
    }

    [SkippableFact]
    public async Task An_identifier_suppressed_on_one_host_is_refused_by_the_other_and_accepted_again_once_released()
    {
        using var hosts = await TwoHosts.StartAsync();
        var (a, b, settings) = (hosts.A, hosts.B, hosts.Settings);
        var n = 0;
        async Task<bool> StoredOnB()
        {
            var id = $"probe-{++n}";
            await Send(b, $$$"""{"batch":[{"type":"track","event":"Viewed","userId":"u-{{{id}}}","messageId":"{{{id}}}","properties":{"email":"gone@example.com"}}]}""");
            return (await MessageIds(b.AdminClient())).Contains(id);
        }
        (await StoredOnB()).Should().BeTrue("nothing is suppressed yet");

        var suppressed = await a.AdminClient().PostAsJsonAsync("/api/privacy/suppressions", new { identifierType = "email", value = "gone@example.com" });
        suppressed.StatusCode.Should().Be(HttpStatusCode.Created);
        var hash = (await suppressed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hash").GetString();
        await Eventually(async () => !await StoredOnB(), "host B refuses the identifier host A suppressed");

        (await a.AdminClient().DeleteAsync($"/api/privacy/suppressions/{hash}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        await Eventually(StoredOnB, "host B accepts it again once host A released it");
    }

    [SkippableFact]
    public async Task A_segment_saved_through_a_follower_is_built_by_the_leader_every_host_sees_its_changes_and_the_sweep_runs_on_the_leader()
    {
        using var hosts = await TwoHosts.StartAsync(new Dictionary<string, string> { ["Cdp:SegmentEvaluation:SweepSchedule"] = "0 3 1 1 *" });
        var (leader, follower) = await Roles(hosts.A, hosts.B);
        var (leaderAdmin, followerAdmin) = (leader.AdminClient(), follower.AdminClient());
        await Send(follower, """{"batch":[{"type":"identify","userId":"u-1","traits":{"plan":"gold"}},""" +
            """{"type":"identify","userId":"u-2","traits":{"plan":"gold"}},{"type":"identify","userId":"u-3","traits":{"plan":"free"}}]}""");
        await AdminReads.CaughtUp(leaderAdmin, atLeast: 3);

        var created = await followerAdmin.PostAsJsonAsync("/api/segments", new { key = "gold", where = "traits.plan = \"gold\"" });
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        async Task<JsonElement> Segment(HttpClient admin) => await admin.GetFromJsonAsync<JsonElement>("/api/segments/gold");
        async Task<bool> Built(HttpClient admin, int members) =>
            await Segment(admin) is var s && s.GetProperty("health").GetString() == "ok" && s.GetProperty("members").GetInt64() == members;
        await Support.Eventually.Until(() => Built(leaderAdmin, 2), "the leader builds the segment the follower saved");
        await Support.Eventually.Until(() => Built(followerAdmin, 2), "the follower sees it built, with its members", seconds: 10);

        (await leaderAdmin.PutAsJsonAsync("/api/segments/gold", new { where = "traits.plan = \"free\"" })).StatusCode.Should().Be(HttpStatusCode.OK);
        await Support.Eventually.Until(async () => (await Segment(followerAdmin)).GetProperty("where").GetString() == "traits.plan = \"free\"",
            "the follower reloads a definition changed through the leader", seconds: 10);
        await Support.Eventually.Until(() => Built(followerAdmin, 1), "and sees it rebuilt");
        await Send(follower, """{"batch":[{"type":"identify","userId":"u-4","traits":{"plan":"free"}}]}""");
        await Support.Eventually.Until(() => Built(followerAdmin, 2), "the leader's processor evaluates the changed segment for new events");

        var sweep = await followerAdmin.PostAsync("/api/segments/sweep", null);
        sweep.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a sweep writes what the leader's processor keeps in memory");
        (await sweep.Content.ReadAsStringAsync()).Should().Contain("profile processor");
        async Task<JsonElement> SweepJob() => (await followerAdmin.GetFromJsonAsync<JsonElement>("/api/scheduling/recurring")).EnumerateArray()
            .Single(r => r.GetProperty("id").GetString() == "segment-sweep");
        (await SweepJob()).GetProperty("queue").GetString().Should().Be("cdp-leader");
        for (var i = 0; i < 3; i++)
        {
            var triggered = await followerAdmin.PostAsync("/api/scheduling/recurring/segment-sweep/trigger", null);
            triggered.StatusCode.Should().Be(HttpStatusCode.Accepted);
            var jobId = (await triggered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetString();
            await Support.Eventually.Until(async () => await SweepJob() is var r && r.GetProperty("lastJobId").GetString() == jobId
                && r.GetProperty("lastJobState").GetString() == "Succeeded", $"sweep {i + 1}, triggered through the follower, succeeds on the leader");
        }
        (await Segment(followerAdmin)).GetProperty("lastSweep").ValueKind.Should().Be(JsonValueKind.String);
    }

    [SkippableFact]
    public async Task A_sync_never_runs_on_two_hosts_at_once_and_a_run_cut_short_by_its_host_s_death_completes_on_the_other_sending_only_the_batch_in_flight_twice()
    {
        const int people = 200, batchSize = 5;
        using var hook = new Governance.SlowWebhook();
        using var hosts = await TwoHosts.StartAsync(new Dictionary<string, string>
        {
            ["Cdp:Segments:with-email:Where"] = "traits.email exists",
            ["Cdp:Destinations:hook:Type"] = "Webhook",
            ["Cdp:Destinations:hook:BaseUrl"] = hook.Url + "/members",
            ["Cdp:Destinations:hook:Secret"] = "whsec_" + Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)(i * 5)).ToArray()),
            ["Cdp:Destinations:hook:BatchSize"] = batchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Cdp:Destinations:hook:MaxConcurrency"] = "1",
            ["Cdp:Syncs:push:Segment"] = "with-email",
            ["Cdp:Syncs:push:Destination"] = "hook",
            ["Cdp:Syncs:push:Cron"] = "0 0 1 1 *",
            ["Cdp:Syncs:push:ConsentPurpose"] = "",
        });
        var (a, b) = (hosts.A, hosts.B);
        await Send(b, "{\"batch\":[" + string.Join(",", Enumerable.Range(1, people).Select(i =>
            "{\"type\":\"identify\",\"userId\":\"u" + i + "\",\"traits\":{\"email\":\"person" + i + "@example.com\"}}")) + "]}");
        await Support.Eventually.Until(async () => (await a.AdminClient().GetFromJsonAsync<JsonElement>("/api/segments/with-email")).GetProperty("members").GetInt64() == people,
            "every person in the segment", seconds: 60);

        _ = a.AdminClient().PostAsync("/api/activation/syncs/push/run", null); // answers when the run ends: it will not
        await Support.Eventually.Until(() => hook.Batches >= 3, "three batches at the webhook", seconds: 60);
        var overlapping = await b.AdminClient().PostAsync("/api/activation/syncs/push/run", null);
        overlapping.StatusCode.Should().Be(HttpStatusCode.Conflict, "host A is running the sync: " + await overlapping.Content.ReadAsStringAsync());
        await Support.Eventually.Until(() => hook.Batches >= 8, "eight batches at the webhook", seconds: 60);
        a.Kill(); // SIGKILL mid-run
        var beforeDeath = hook.Upserted.Count;
        beforeDeath.Should().BeLessThan(people, "the kill came mid-sync");

        var resumed = await (await b.AdminClient().PostAsync("/api/activation/syncs/push/run", null)).Content.ReadFromJsonAsync<JsonElement>();
        resumed.GetProperty("status").GetString().Should().Be("succeeded", resumed.ToString());
        var runs = (await b.AdminClient().GetFromJsonAsync<JsonElement>("/api/activation/syncs/push/runs")).EnumerateArray().ToList();
        runs.Should().HaveCount(2);
        var cut = runs.Single(r => r.GetProperty("id").GetInt64() != resumed.GetProperty("id").GetInt64());
        cut.GetProperty("status").GetString().Should().Be("failed");
        cut.GetProperty("stoppedBecause").GetString().Should().StartWith("interrupted", "the next run, on the other host, records the dead host's run");

        var received = hook.Upserted.ToList();
        received.Distinct().Should().HaveCount(people, "every member arrived");
        var twice = received.GroupBy(e => e).Where(g => g.Count() > 1).ToList();
        twice.Where(g => g.Count() != 2).Should().BeEmpty("a member is sent at most twice");
        twice.Count.Should().BeLessThanOrEqualTo(batchSize, "only the batch in flight at the death (sent, not yet committed) is sent again");
        output.WriteLine($"host A died after {beforeDeath} of {people} members were received; host B sent {received.Count - beforeDeath} more; {twice.Count} received twice");
    }

    [SkippableFact]
    public async Task With_host_urls_a_follower_forwards_pause_resume_and_erasure_to_the_leader_and_relays_its_answers()
    {
        using var hosts = await TwoHosts.StartAsync(new Dictionary<string, string> { ["Cdp:Storage:HostUrl"] = "http://127.0.0.1:{port}" });
        var (leader, follower) = await Roles(hosts.A, hosts.B);
        var (leaderAdmin, followerAdmin) = (leader.AdminClient(), follower.AdminClient());
        var leaderName = (await leaderAdmin.GetFromJsonAsync<JsonElement>("/api/profiles/processor")).GetProperty("host").GetString();
        await Send(follower, """{"batch":[{"type":"identify","userId":"u-1","traits":{"email":"jane@example.com"}},{"type":"identify","userId":"u-2","traits":{"email":"joe@example.com"}}]}""");
        await AdminReads.CaughtUp(leaderAdmin, atLeast: 2);

        var pause = await followerAdmin.PostAsync("/api/profiles/processor/pause", null);
        pause.StatusCode.Should().Be(HttpStatusCode.OK, await pause.Content.ReadAsStringAsync());
        var paused = await pause.Content.ReadFromJsonAsync<JsonElement>();
        paused.GetProperty("host").GetString().Should().Be(leaderName, "the answer is the leader's status");
        paused.GetProperty("paused").GetBoolean().Should().BeTrue();
        (await leaderAdmin.GetFromJsonAsync<JsonElement>("/api/profiles/processor")).GetProperty("paused").GetBoolean().Should().BeTrue("the leader paused");
        (await followerAdmin.PostAsync("/api/profiles/processor/resume", null)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await leaderAdmin.GetFromJsonAsync<JsonElement>("/api/profiles/processor")).GetProperty("paused").GetBoolean().Should().BeFalse("the leader resumed");

        var deletion = await followerAdmin.PostAsJsonAsync("/api/privacy/deletions", new { identifierType = "user_id", value = "u-1" });
        deletion.IsSuccessStatusCode.Should().BeTrue($"{deletion.StatusCode}: {await deletion.Content.ReadAsStringAsync()}");
        (await deletion.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("receiptId").GetString().Should().NotBeNullOrEmpty("the leader's receipt is relayed");
        (await leaderAdmin.GetAsync("/api/profiles/user_id:u-1")).StatusCode.Should().Be(HttpStatusCode.NotFound, "the leader erased the person named in the forwarded body");
        (await leaderAdmin.GetAsync("/api/profiles/user_id:u-2")).StatusCode.Should().Be(HttpStatusCode.OK, "only that person");

        using var stranger = new HttpClient { BaseAddress = follower.BaseAddress };
        stranger.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "not-a-key-of-this-installation");
        var unauthorised = await stranger.PostAsync("/api/profiles/processor/pause", null);
        unauthorised.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the follower checks the key before forwarding anything");
        var looped = new HttpRequestMessage(HttpMethod.Post, "/api/profiles/processor/pause");
        looped.Headers.Add("X-Cdp-Forwarded-By", "another follower");
        var once = await followerAdmin.SendAsync(looped);
        once.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a forwarded request is never forwarded again");
        (await once.Content.ReadAsStringAsync()).Should().Contain(leaderName);
    }

    [SkippableFact]
    public async Task The_ingest_statistics_of_either_host_count_the_events_both_hosts_took()
    {
        using var hosts = await TwoHosts.StartAsync();
        await Send(hosts.A, """{"batch":[{"type":"track","event":"A","userId":"u-1"},{"type":"track","event":"A","userId":"u-2"}]}""");
        await Send(hosts.B, """{"batch":[{"type":"track","event":"B","userId":"u-3"},{"type":"track","event":"B","userId":"u-4"},{"type":"track","event":"B","userId":"u-5"}]}""");
        long Accepted(JsonElement stats) => stats.GetProperty("totals").GetProperty("accepted").GetInt64();
        foreach (var host in new[] { hosts.A, hosts.B })
        {
            JsonElement stats = default;
            await Support.Eventually.Until(async () => Accepted(stats = await host.AdminClient().GetFromJsonAsync<JsonElement>("/api/collection/stats?range=1h")) == 5,
                "each host's overview counts the five events of both (a host adds its counts to the store within seconds)", explain: () => stats.ToString());
        }
        await Task.Delay(TimeSpan.FromSeconds(6)); // a few more samples: nothing is counted twice
        Accepted(await hosts.A.AdminClient().GetFromJsonAsync<JsonElement>("/api/collection/stats?range=1h")).Should().Be(5);
        Accepted(await hosts.B.AdminClient().GetFromJsonAsync<JsonElement>("/api/collection/stats?range=1h")).Should().Be(5);
    }

    [SkippableFact]
    public async Task A_pause_outlives_the_leader_s_death_and_the_next_leader_processes_once_resumed()
    {
        using var hosts = await TwoHosts.StartAsync();
        var (leader, follower) = await Roles(hosts.A, hosts.B);
        (await leader.AdminClient().PostAsync("/api/profiles/processor/pause", null)).StatusCode.Should().Be(HttpStatusCode.OK);
        await Send(follower, """{"batch":[{"type":"identify","userId":"u-1","traits":{"plan":"gold"}}]}""");
        leader.Kill(); // SIGKILL while paused

        var admin = follower.AdminClient();
        JsonElement status = default;
        await Support.Eventually.Until(async () => (status = await admin.GetFromJsonAsync<JsonElement>("/api/profiles/processor")).GetProperty("leading").GetBoolean(),
            "the follower takes the lead");
        status.GetProperty("paused").GetBoolean().Should().BeTrue("an admin's pause holds across a fail-over");
        await Task.Delay(TimeSpan.FromSeconds(1)); // a batch would have been processed by now
        (await admin.GetFromJsonAsync<JsonElement>("/api/profiles/processor")).GetProperty("checkpoint").GetInt64().Should().Be(0, "nothing is processed while paused");

        (await admin.PostAsync("/api/profiles/processor/resume", null)).StatusCode.Should().Be(HttpStatusCode.OK);
        await AdminReads.CaughtUp(admin, atLeast: 1);
        (await admin.GetAsync("/api/profiles/user_id:u-1")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            DateTime.UtcNow.Should().BeBefore(deadline, what);
            await Task.Delay(100);
        }
    }

    /// <summary>Which of the two leads (waiting until one does).</summary>
    private static async Task<(CdpProcess Leader, CdpProcess Follower)> Roles(CdpProcess a, CdpProcess b)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var sa = await a.AdminClient().GetFromJsonAsync<JsonElement>("/api/profiles/processor");
            var sb = await b.AdminClient().GetFromJsonAsync<JsonElement>("/api/profiles/processor");
            var (la, lb) = (sa.GetProperty("leading").GetBoolean(), sb.GetProperty("leading").GetBoolean());
            (la && lb).Should().BeFalse("one host at a time runs the processor");
            if (la) return (a, b);
            if (lb) return (b, a);
            DateTime.UtcNow.Should().BeBefore(deadline, "one of the hosts takes the lead");
            await Task.Delay(100);
        }
    }

    private static async Task Send(CdpProcess host, string batch)
    {
        var r = await host.TrackingClient().PostAsync("/v1/batch", new StringContent(batch, Encoding.UTF8, "application/json"));
        r.StatusCode.Should().Be(HttpStatusCode.OK, await r.Content.ReadAsStringAsync());
    }

    private static async Task<List<string>> MessageIds(HttpClient admin)
    {
        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var page = await admin.GetFromJsonAsync<JsonElement>("/api/collection/events?limit=1000" + (cursor is null ? "" : "&cursor=" + cursor));
            ids.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("messageId").GetString()!));
            cursor = page.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        } while (cursor is not null);
        return ids;
    }
}
