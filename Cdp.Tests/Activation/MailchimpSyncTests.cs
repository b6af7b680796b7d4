using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Activation.Destinations;
using Cdp.Tests.Support;

namespace Cdp.Tests.Activation;

/// <summary>Syncs to a Mailchimp fake: batch upserts, the sync's static segment, exits, errors, rate limits, crash safety, dry runs.</summary>
public sealed class MailchimpSyncTests : IDisposable
{
    private const string ApiKey = "0123456789abcdef0123456789abcdef-us21";
    private const string List = "a1b2c3d4e5";

    private readonly MailchimpFake _fake = new(ApiKey, List) { Contract = VendorContract.Mailchimp };
    private readonly CrashBeforeCommit _crash = new();
    private ActivationHarness? _harness;

    public static TheoryData<string> Providers => CdpHost.Providers;

    private ActivationHarness Start(Dictionary<string, string?>? extra = null, string? provider = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Cdp:Destinations:mc:Type"] = "Mailchimp",
            ["Cdp:Destinations:mc:BaseUrl"] = _fake.Url,
            ["Cdp:Destinations:mc:ApiKey"] = ApiKey,
            ["Cdp:Destinations:mc:ListId"] = List,
            ["Cdp:Destinations:mc:RetryBaseDelay"] = "00:00:00.010",
            ["Cdp:Destinations:mc:MaxRetryDelay"] = "00:00:02",
            ["Cdp:Destinations:mc:MaxAttempts"] = "4",
            ["Cdp:Syncs:newsletter:Segment"] = "vip",
            ["Cdp:Syncs:newsletter:Destination"] = "mc",
            ["Cdp:Syncs:newsletter:Cron"] = "0 3 * * *",
            ["Cdp:Syncs:newsletter:TimeZone"] = "Europe/Paris",
            ["Cdp:Syncs:newsletter:FieldMappings:FNAME"] = "traits.first_name",
        };
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        return _harness = new ActivationHarness(settings, _crash, provider: provider);
    }

    public void Dispose()
    {
        _harness?.Dispose();
        _fake.Dispose();
        // Every request every test sent was checked against Mailchimp's own published request schemas.
        _fake.ContractViolations.Should().BeEmpty("Mailchimp's Marketing API schemas (TestData/vendor-openapi) must accept every request");
    }

    [Fact]
    public async Task A_static_segment_deleted_in_Mailchimp_is_created_again_once_the_run_says_so_and_carries_on()
    {
        var h = Start();
        var ids = await h.SeedAsync(ActivationHarness.People(4));
        h.Segments.Set("vip", ids.Take(3));
        (await h.RunAsync("newsletter")).Status.Should().Be(SyncRunStatus.Succeeded);
        var gone = _fake.Segments.Single().Key;
        _fake.Segments.Remove(gone); // an admin deleted the tag in Mailchimp; Cdp still has its id cached

        h.Segments.Set("vip", ids);
        var run = await h.RunAsync("newsletter");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        run.Counts.Added.Should().Be(1);
        run.Counts.Rejected.Should().Be(0);
        var recreated = _fake.Segments.Single();
        recreated.Key.Should().NotBe(gone);
        run.Errors.Should().ContainSingle().Which.Should().Contain($"static segment {gone} answered 404").And.Contain($"created 'cdp-newsletter' again as {recreated.Key}");
        _fake.Tagged("newsletter").Should().Contain("person4@example.com");

        var fresh = await h.SeedAsync([new Person("u9", "person9@example.com", FirstName: "Nine")]);
        h.Segments.Set("vip", ids.Concat(fresh));
        var next = await h.RunAsync("newsletter");
        next.Errors.Should().BeEmpty("the new segment id was cached");
        _fake.Tagged("newsletter").Should().Contain("person9@example.com");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task First_sync_upserts_consenting_members_in_calls_of_at_most_500_and_tags_them_in_the_segment_the_sync_owns(string provider)
    {
        var h = Start(provider: provider);
        var people = ActivationHarness.People(1_100, consent: i => i % 10 != 0).ToList();
        var ids = await h.SeedAsync(people);
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("newsletter");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        run.Counts.Members.Should().Be(1_100);
        run.Counts.SkippedNoConsent.Should().Be(110);
        run.Counts.Added.Should().Be(990);
        var upserts = _fake.Requests.Where(r => r.Method == "POST" && r.Path == $"/3.0/lists/{List}").ToList();
        upserts.Should().HaveCount(2);
        upserts.Should().OnlyContain(r => r.Json!["members"]!.AsArray().Count <= 500);
        upserts.Should().OnlyContain(r => r.Header("Authorization")!.StartsWith("Basic "));
        var first = upserts[0].Json!["members"]![0]!;
        first["status_if_new"]!.GetValue<string>().Should().Be("subscribed");
        upserts[0].Json!["update_existing"]!.GetValue<bool>().Should().BeTrue();
        _fake.Members.Should().HaveCount(990);
        _fake.Members["person1@example.com"].MergeFields["FNAME"]!.GetValue<string>().Should().Be("First1");
        _fake.Members.Keys.Should().NotContain("person10@example.com", "no marketing consent");
        _fake.Tagged("newsletter").Should().BeEquivalentTo(_fake.Members.Keys);
        _fake.Count("POST", $"/3.0/lists/{List}/segments").Should().Be(1 + 2, "one segment created, then one members_to_add per batch");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_delta_run_sends_only_changed_fields_and_leavers_and_nothing_when_nothing_changed(string provider)
    {
        var h = Start(provider: provider);
        var ids = await h.SeedAsync(ActivationHarness.People(10));
        h.Segments.Set("vip", ids);
        (await h.RunAsync("newsletter")).Counts.Added.Should().Be(10);

        var before = _fake.Requests.Count;
        var idle = await h.RunAsync("newsletter");
        idle.Counts.Unchanged.Should().Be(10);
        _fake.Requests.Count.Should().Be(before, "nothing changed, nothing is sent");

        await h.SeedAsync([new Person("u3", "person3@example.com", FirstName: "Renamed")]);
        h.Segments.Set("vip", ids.Where(id => id != h.ProfileOf("u7")));
        var delta = await h.RunAsync("newsletter");

        delta.Status.Should().Be(SyncRunStatus.Succeeded);
        delta.Counts.Updated.Should().Be(1);
        delta.Counts.Removed.Should().Be(1);
        delta.Counts.Unchanged.Should().Be(8);
        var upsert = _fake.Requests.Last(r => r.Method == "POST" && r.Path == $"/3.0/lists/{List}");
        upsert.Json!["members"]!.AsArray().Select(m => m!["email_address"]!.GetValue<string>()).Should().Equal("person3@example.com");
        _fake.Members["person3@example.com"].MergeFields["FNAME"]!.GetValue<string>().Should().Be("Renamed");
        _fake.Tagged("newsletter").Should().NotContain("person7@example.com").And.HaveCount(9);
        _fake.Members["person7@example.com"].Status.Should().Be("subscribed", "the default exit policy only untags");
    }

    [Theory]
    [InlineData("Archive", "archived", false)]
    [InlineData("Unsubscribe", "unsubscribed", false)]
    [InlineData("None", "subscribed", true)]
    public async Task The_exit_policy_decides_what_happens_to_a_leaver(string policy, string status, bool stillTagged)
    {
        var h = Start(new() { ["Cdp:Destinations:mc:ExitPolicy"] = policy });
        var ids = await h.SeedAsync(ActivationHarness.People(4));
        h.Segments.Set("vip", ids);
        await h.RunAsync("newsletter");

        h.Segments.Set("vip", ids.Skip(1));
        var run = await h.RunAsync("newsletter");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        run.Counts.Removed.Should().Be(1);
        _fake.Members["person1@example.com"].Status.Should().Be(status);
        _fake.Tagged("newsletter").Contains("person1@example.com").Should().Be(stillTagged);
    }

    [Fact]
    public async Task Per_member_errors_in_a_200_are_rejected_rows_that_the_next_run_retries()
    {
        var h = Start();
        var ids = await h.SeedAsync(ActivationHarness.People(5));
        h.Segments.Set("vip", ids);
        _fake.Refuse.Add("person2@example.com");

        var run = await h.RunAsync("newsletter");

        run.Status.Should().Be(SyncRunStatus.Partial);
        run.Counts.Added.Should().Be(4);
        run.Counts.Rejected.Should().Be(1);
        run.Errors.Should().ContainSingle(e => e.Contains("person2@example.com") && e.Contains("looks fake"));
        h.Syncs.Find("newsletter")!.Rejected.Should().Be(1);

        _fake.Refuse.Clear();
        var retry = await h.RunAsync("newsletter");
        retry.Status.Should().Be(SyncRunStatus.Succeeded);
        retry.Counts.Retried.Should().Be(1);
        retry.Counts.Added.Should().Be(0);
        _fake.Members.Should().ContainKey("person2@example.com");
        _fake.Tagged("newsletter").Should().HaveCount(5);
    }

    [Fact]
    public async Task A_429_with_Retry_After_and_a_500_are_retried_inside_the_run()
    {
        var h = Start();
        var ids = await h.SeedAsync(ActivationHarness.People(3));
        h.Segments.Set("vip", ids);
        _fake.Fail(r => r.Method == "POST" && r.Path == $"/3.0/lists/{List}",
            FakeResponse.Json(429, new { title = "Too Many Requests", status = 429 }, new Dictionary<string, string> { ["Retry-After"] = "1" }));
        _fake.Fail(r => r.Method == "POST" && r.Path == $"/3.0/lists/{List}", FakeResponse.Json(500, new { title = "Internal Server Error", status = 500 }));

        var run = await h.RunAsync("newsletter");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        _fake.Count("POST", $"/3.0/lists/{List}").Should().BeGreaterThanOrEqualTo(3);
        _fake.Requests.Count(r => r.Method == "POST" && r.Path == $"/3.0/lists/{List}").Should().Be(3, "429, then 500, then the accepted call");
        _fake.Members.Should().HaveCount(3);
    }

    [Fact]
    public async Task A_401_aborts_the_run_without_retrying_and_the_key_never_reaches_the_run_history()
    {
        var h = Start(new() { ["Cdp:Destinations:mc:ApiKey"] = "ffffffffffffffffffffffffffffffff-us21" });
        var ids = await h.SeedAsync(ActivationHarness.People(3));
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("newsletter");

        run.Status.Should().Be(SyncRunStatus.Failed);
        run.Errors.Should().ContainSingle().Which.Should().Contain("401").And.NotContain("ffffffffffffffff");
        _fake.Requests.Should().HaveCount(1, "credentials refused: no retry, no further batch");
        h.Syncs.Find("newsletter")!.Members.Should().Be(0);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_crash_between_the_vendors_ack_and_the_state_commit_resends_without_duplicates(string provider)
    {
        var h = Start(new() { ["Cdp:Destinations:mc:BatchSize"] = "2" }, provider);
        var ids = await h.SeedAsync(ActivationHarness.People(5));
        h.Segments.Set("vip", ids);
        _crash.AtBatch = 2;

        var crashed = await h.RunAsync("newsletter");
        crashed.Status.Should().Be(SyncRunStatus.Partial, "batch 1 was committed, batch 2 was acknowledged but not committed");
        h.Syncs.Find("newsletter")!.Members.Should().Be(2);

        var resumed = await h.RunAsync("newsletter");

        resumed.Status.Should().Be(SyncRunStatus.Succeeded);
        resumed.Counts.Added.Should().Be(3, "batch 2 is sent again, then batch 3");
        _fake.Upserted.Count(e => e == "person3@example.com").Should().Be(2, "the unacknowledged-in-state batch was resent");
        _fake.Members.Should().HaveCount(5);
        _fake.Tagged("newsletter").Should().HaveCount(5);
        h.Syncs.Find("newsletter")!.Members.Should().Be(5);
    }

    [Fact]
    public async Task A_dry_run_shows_counts_samples_and_the_first_payload_and_makes_no_request()
    {
        var h = Start();
        var ids = await h.SeedAsync(ActivationHarness.People(12));
        h.Segments.Set("vip", ids);

        var response = await h.Host.AdminClient().PostAsync("/api/activation/syncs/newsletter/dry-run", null);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var run = (await response.Content.ReadFromJsonAsync<SyncRunReport>())!;

        run.Status.Should().Be(SyncRunStatus.DryRun);
        run.Counts.Added.Should().Be(12);
        run.Samples.Should().HaveCount(10).And.OnlyContain(s => s.Action == "add" && s.Fields.ContainsKey("FNAME"));
        using var payload = JsonDocument.Parse(run.FirstPayload!);
        payload.RootElement.GetProperty("members").GetArrayLength().Should().Be(12);
        payload.RootElement.GetProperty("members")[0].GetProperty("merge_fields").GetProperty("FNAME").GetString().Should().StartWith("First");
        _fake.Requests.Should().BeEmpty();
        h.Host.Service<DestinationHttp>().Attempts("mc").Should().Be(0);
        h.Syncs.Find("newsletter")!.Members.Should().Be(0, "a dry run changes no state");
    }

    [Fact]
    public async Task The_mass_removal_guard_stops_a_run_that_would_remove_most_members_unless_allowed()
    {
        var h = Start();
        var ids = await h.SeedAsync(ActivationHarness.People(10));
        h.Segments.Set("vip", ids);
        await h.RunAsync("newsletter");
        var before = _fake.Requests.Count;

        h.Segments.Set("vip", ids.Take(3));
        var stopped = await h.RunAsync("newsletter");

        stopped.Status.Should().Be(SyncRunStatus.Failed);
        stopped.StoppedBecause.Should().Contain("7 of 10").And.Contain("Cdp:Syncs:newsletter:MaxRemovalShare");
        _fake.Requests.Count.Should().Be(before, "nothing is sent");
        _fake.Tagged("newsletter").Should().HaveCount(10);

        var response = await h.Host.AdminClient().PostAsync("/api/activation/syncs/newsletter/run?allowMassRemoval=true", null);
        var allowed = (await response.Content.ReadFromJsonAsync<SyncRunReport>())!;
        allowed.Status.Should().Be(SyncRunStatus.Succeeded);
        allowed.Counts.Removed.Should().Be(7);
        _fake.Tagged("newsletter").Should().HaveCount(3);
    }

    [Fact]
    public async Task The_admin_api_lists_syncs_with_their_next_run_and_their_runs()
    {
        var h = Start();
        var ids = await h.SeedAsync(ActivationHarness.People(2));
        h.Segments.Set("vip", ids);
        await h.RunAsync("newsletter");
        var admin = h.Host.AdminClient();

        var syncs = await admin.GetFromJsonAsync<List<SyncSummary>>("/api/activation/syncs");
        var s = syncs!.Should().ContainSingle().Subject;
        s.Name.Should().Be("newsletter");
        s.DestinationType.Should().Be("Mailchimp");
        s.NextRun.Should().NotBeNull("the sync's recurring job is scheduled");
        s.LastRunStatus.Should().Be(SyncRunStatus.Succeeded);
        s.Members.Should().Be(2);
        var runs = await admin.GetFromJsonAsync<List<SyncRunReport>>("/api/activation/syncs/newsletter/runs");
        runs.Should().ContainSingle().Which.Trigger.Should().Be("test");
        (await admin.GetAsync("/api/activation/syncs/nope/runs")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await h.Host.AdminClient(CdpHost.AnalystKey).PostAsync("/api/activation/syncs/newsletter/run", null)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var recurring = await admin.GetFromJsonAsync<JsonElement>("/api/scheduling/recurring");
        recurring.EnumerateArray().Select(r => r.GetProperty("id").GetString()).Should().Contain("sync-newsletter");
    }

    [Fact]
    public void Mailchimps_request_schemas_name_the_operation_and_field_a_request_breaks()
    {
        static FakeRequest Req(string method, string path, string body = "", string query = "") => new(method, path, query, new Dictionary<string, string>(), body);
        var member = $"/3.0/lists/{List}/members/{new string('a', 32)}";
        VendorContract.Mailchimp.Check(Req("PATCH", member, """{"status":"unsubscribed"}""")).Should().BeEmpty();
        VendorContract.Mailchimp.Check(Req("PATCH", member, """{"status":"archived"}""")).Should().ContainSingle()
            .Which.Should().Contain("PATCH " + member).And.Contain("/status").And.Contain("enum");
        VendorContract.Mailchimp.Check(Req("POST", $"/3.0/lists/{List}", """{"members":[{"email_address":"a@example.com","status":"subscribed"}],"update_existing":"yes"}"""))
            .Should().ContainSingle().Which.Should().Contain("/update_existing").And.Contain("type");
        VendorContract.Mailchimp.Check(Req("POST", $"/3.0/lists/{List}", """{"update_existing":true}"""))
            .Should().ContainSingle().Which.Should().Contain("required").And.Contain("members");
        VendorContract.Mailchimp.Check(Req("POST", $"/3.0/lists/{List}/segments", """{"static_segment":[]}"""))
            .Should().ContainSingle().Which.Should().Contain("required").And.Contain("name");
        VendorContract.Mailchimp.Check(Req("POST", $"/3.0/lists/{List}/segments/1001", """{"members_to_add":[1]}"""))
            .Should().ContainSingle().Which.Should().Contain("/members_to_add/0").And.Contain("type");
        VendorContract.Mailchimp.Check(Req("POST", member + "/actions/delete-permanent", """{"status":"x"}"""))
            .Should().ContainSingle().Which.Should().Contain("takes no request body");
        VendorContract.Mailchimp.Check(Req("PUT", member + "/tags", "{}")).Should().ContainSingle().Which.Should().Contain("no such path");
        VendorContract.Mailchimp.Check(Req("GET", $"/3.0/lists/{List}/segments", query: "?type=static")).Should().BeEmpty("the one call the vendored schemas do not cover");
    }

    [Fact]
    public void The_data_centre_comes_from_the_keys_suffix_unless_a_base_url_is_set()
    {
        VendorApi.Root(new DestinationSettings { Type = "Mailchimp", ApiKey = "abc-us21" }).Should().Be("https://us21.api.mailchimp.com");
        VendorApi.Root(new DestinationSettings { Type = "Mailchimp", ApiKey = "abc-us21", BaseUrl = "http://127.0.0.1:9/" }).Should().Be("http://127.0.0.1:9");
    }
}
