using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Tests.Support;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Activation;

/// <summary>
/// Syncs to a Meta customer-list audience through the real host: the audience created once, hashed multi-key rows, deltas,
/// the replace session of a full resync, Meta's 10,000-row limit, rate limits and token errors, erasure, the advertising consent.
/// Every request is checked against Meta's Graph API spec (TestData/meta-graph-specs) by the fake.
/// </summary>
public sealed class MetaSyncTests : IDisposable
{
    private const string Token = "EAAGm0PX4ZCpsBAtestsystemusertoken0123456789";
    private const string Account = "1234567890";

    private readonly MetaFake _fake = new(Token, Account);
    private readonly Dictionary<string, string> _profiles = new(StringComparer.Ordinal);
    private ActivationHarness? _harness;

    public static TheoryData<string> Providers => CdpHost.Providers;

    private ActivationHarness Start(Dictionary<string, string?>? extra = null, string? provider = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Cdp:Destinations:meta:Type"] = "MetaCustomAudience",
            ["Cdp:Destinations:meta:BaseUrl"] = _fake.Url,
            ["Cdp:Destinations:meta:AccessToken"] = Token,
            ["Cdp:Destinations:meta:AdAccountId"] = "act_" + Account,
            ["Cdp:Destinations:meta:RetryBaseDelay"] = "00:00:00.010",
            ["Cdp:Destinations:meta:MaxRetryDelay"] = "00:00:02",
            ["Cdp:Destinations:meta:MaxAttempts"] = "4",
            ["Cdp:Syncs:ads:Segment"] = "vip",
            ["Cdp:Syncs:ads:Destination"] = "meta",
            ["Cdp:Syncs:ads:Enabled"] = "false",
            ["Cdp:Profiles:ConsentTraits:ads_consent"] = "advertising",
        };
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        return _harness = new ActivationHarness(settings, provider: provider);
    }

    public void Dispose()
    {
        _harness?.Dispose();
        _fake.Dispose();
        _fake.Violations.Should().BeEmpty("Meta's Graph API spec and documented payload rules must accept every request");
    }

    private static string Sha(string normalised) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalised)));

    private static Dictionary<string, object?> Traits(int i, bool ads = true) => new()
    {
        ["email"] = $" Person{i}@Example.com ", ["phone"] = $"+1 650 555 {i:D4}", ["firstName"] = $"Ann-{(char)('a' + i % 26)}",
        ["lastName"] = "O'Neil", ["address"] = new Dictionary<string, object?> { ["country"] = "US" }, ["ads_consent"] = ads, ["marketing_consent"] = true,
    };

    /// <summary>Identify calls through /v1/batch, processed; returns the profile ids in order.</summary>
    private async Task<List<string>> Seed(ActivationHarness h, IEnumerable<(string UserId, Dictionary<string, object?> Traits)> people, bool lookUp = true)
    {
        var list = people.ToList();
        foreach (var chunk in list.Chunk(400))
            await h.Host.TrackingClient().SendBatch(chunk.Select(p => JsonSerializer.Serialize(new { type = "identify", userId = p.UserId, traits = p.Traits, timestamp = DateTime.UtcNow.ToString("O") })));
        await h.Host.Processed();
        if (!lookUp) return [];
        var admin = h.Host.AdminClient();
        foreach (var p in list) _profiles[p.UserId] = await admin.ProfileId("user_id:" + p.UserId);
        return list.Select(p => _profiles[p.UserId]).ToList();
    }

    private Task<List<string>> SeedPeople(ActivationHarness h, int count, int from = 1) =>
        Seed(h, Enumerable.Range(from, count).Select(i => ($"u{i}", Traits(i))));

    private IEnumerable<FakeRequest> Sent(string method, string edge) => _fake.Requests.Where(r => r.Method == method && r.Path.EndsWith("/" + edge, StringComparison.Ordinal));

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task First_sync_creates_the_audience_once_and_adds_members_as_hashed_multi_key_rows_without_any_raw_value(string provider)
    {
        var h = Start(provider: provider);
        var ids = await SeedPeople(h, 3);
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("ads");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        run.Counts.Added.Should().Be(3);
        var create = Sent("POST", "customaudiences").Should().ContainSingle().Subject;
        create.Path.Should().Be($"/v21.0/act_{Account}/customaudiences");
        create.Header("Authorization").Should().Be("Bearer " + Token);
        create.Json!["subtype"]!.GetValue<string>().Should().Be("CUSTOM");
        create.Json["customer_file_source"]!.GetValue<string>().Should().Be("USER_PROVIDED_ONLY");
        create.Json["name"]!.GetValue<string>().Should().Be("cdp-ads");
        var audience = _fake.Audiences.Values.Should().ContainSingle().Subject;
        run.Errors.Should().ContainSingle().Which.Should().Contain($"created the custom audience 'cdp-ads' ({audience.Id})");

        var add = Sent("POST", "users").Should().ContainSingle().Subject;
        add.Path.Should().Be($"/v21.0/{audience.Id}/users");
        var payload = add.Json!["payload"]!;
        payload["schema"]!.AsArray().Select(s => (string)s!).Should().Equal("EMAIL", "PHONE", "FN", "LN", "COUNTRY");
        var first = payload["data"]!.AsArray()[0]!.AsArray().Select(c => (string)c!).ToList();
        first.Should().Equal(Sha("person1@example.com"), Sha("16505550001"), Sha("annb"), Sha("oneil"), Sha("us"));
        _fake.Requests.Should().NotContain(r => r.Body.Contains("example.com", StringComparison.OrdinalIgnoreCase) || r.Body.Contains("O'Neil", StringComparison.Ordinal),
            "only hashes leave Cdp");
        audience.Emails.Should().BeEquivalentTo(new[] { 1, 2, 3 }.Select(i => Sha($"person{i}@example.com")));

        var more = await SeedPeople(h, 1, from: 4);
        h.Segments.Set("vip", ids.Concat(more));
        var second = await h.RunAsync("ads");
        second.Counts.Added.Should().Be(1);
        Sent("POST", "customaudiences").Should().ContainSingle("the audience id is kept in the sync's state: created once");
        Sent("POST", "users").Last().Path.Should().Be($"/v21.0/{audience.Id}/users");
    }

    [Fact]
    public async Task An_audience_deleted_in_Ads_Manager_is_created_again_once_and_the_run_says_so()
    {
        var h = Start();
        var ids = await SeedPeople(h, 3);
        h.Segments.Set("vip", ids.Take(2));
        (await h.RunAsync("ads")).Status.Should().Be(SyncRunStatus.Succeeded);
        var gone = _fake.Audiences.Keys.Single();
        _fake.Audiences.Remove(gone);

        h.Segments.Set("vip", ids);
        var run = await h.RunAsync("ads");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        var recreated = _fake.Audiences.Values.Single();
        recreated.Id.Should().NotBe(gone);
        run.Errors.Should().Contain(e => e.Contains($"the sync's audience {gone} no longer exists") && e.Contains($"created {recreated.Id}"));
        recreated.Emails.Should().Equal(Sha("person3@example.com"));

        var full = await h.RunAsync("ads", full: true);
        full.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", full.Errors));
        full.Errors.Should().BeEmpty("the new audience id was kept");
        recreated.Emails.Should().BeEquivalentTo(new[] { 1, 2, 3 }.Select(i => Sha($"person{i}@example.com")), "a full resync puts everyone back");
    }

    [Fact]
    public async Task A_list_keyed_by_phone_sends_people_without_an_email_and_removes_them_by_their_hashed_phone()
    {
        var h = Start(new()
        {
            ["Cdp:Syncs:ads:Identifier"] = "phone", ["Cdp:Syncs:ads:MaxRemovalShare"] = "1",
            ["Cdp:Destinations:meta:Identifiers:PHONE"] = "traits.phone", ["Cdp:Destinations:meta:Identifiers:EMAIL"] = "traits.email",
        });
        var ids = await Seed(h, [
            ("u1", new Dictionary<string, object?> { ["phone"] = "(650) 555-0101", ["ads_consent"] = true }),
            ("u2", new Dictionary<string, object?> { ["phone"] = "+44 20 7183 8750", ["email"] = "two@example.com", ["ads_consent"] = true }),
        ]);
        h.Segments.Set("vip", ids);

        (await h.RunAsync("ads")).Counts.Added.Should().Be(2);
        var add = Sent("POST", "users").Single().Json!["payload"]!;
        add["schema"]!.AsArray().Select(s => (string)s!).Should().Equal("EMAIL", "PHONE");
        add["data"]![0]!.AsArray().Select(c => (string)c!).Should().Equal("", Sha("16505550101"));

        h.Segments.Set("vip", ids.Skip(1));
        (await h.RunAsync("ads")).Counts.Removed.Should().Be(1);
        Sent("DELETE", "users").Single().Json!["payload"]!["data"]![0]!.AsArray().Select(c => (string)c!).Should().Contain(Sha("16505550101"));
        _fake.Audiences.Values.Single().Rows.Select(r => r.Ids["PHONE"]).Should().Equal(Sha("442071838750"));
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_delta_adds_newcomers_and_deletes_leavers_by_all_their_hashed_identifiers(string provider)
    {
        var h = Start(provider: provider);
        var ids = await SeedPeople(h, 4);
        h.Segments.Set("vip", ids.Take(3));
        (await h.RunAsync("ads")).Status.Should().Be(SyncRunStatus.Succeeded);
        var audience = _fake.Audiences.Values.Single();

        h.Segments.Set("vip", ids.Skip(1));
        var run = await h.RunAsync("ads");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        run.Counts.Added.Should().Be(1);
        run.Counts.Removed.Should().Be(1);
        run.Counts.Unchanged.Should().Be(2);
        Sent("POST", "users").Last().Json!["payload"]!["data"]!.AsArray().Should().ContainSingle();
        var delete = Sent("DELETE", "users").Should().ContainSingle().Subject;
        delete.Json!["payload"]!["schema"]!.AsArray().Select(s => (string)s!).Should().Equal("EMAIL", "PHONE", "FN", "LN", "COUNTRY");
        delete.Json["payload"]!["data"]![0]![1]!.GetValue<string>().Should().Be(Sha("16505550001"), "the leaver is named by every identifier, as they were added");
        audience.Emails.Should().BeEquivalentTo(new[] { 2, 3, 4 }.Select(i => Sha($"person{i}@example.com")));
        (await h.RunAsync("ads")).Counts.Unchanged.Should().Be(3, "nothing changed: nothing is sent");
    }

    [Fact]
    public async Task A_full_resync_replaces_the_audience_through_one_replace_session_with_increasing_batch_seq_and_the_last_flag_on_the_last()
    {
        var h = Start(new() { ["Cdp:Destinations:meta:BatchSize"] = "10" });
        var ids = await SeedPeople(h, 26);
        h.Segments.Set("vip", ids.Take(25));
        (await h.RunAsync("ads")).Status.Should().Be(SyncRunStatus.Succeeded);
        var audience = _fake.Audiences.Values.Single();
        audience.Rows.Add(new MetaFake.Row(new Dictionary<string, string> { ["EMAIL"] = Sha("added-by-hand@example.com") }, null));

        h.Segments.Set("vip", ids.Skip(2)); // 2 leave, 1 joins: 24 members
        var run = await h.RunAsync("ads", full: true);

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        run.Full.Should().BeTrue();
        _fake.ReplaceBatches.Select(b => b.Seq).Should().Equal(1, 2, 3);
        _fake.ReplaceBatches.Select(b => b.Last).Should().Equal(false, false, true);
        _fake.ReplaceBatches.Select(b => b.Rows).Should().Equal(10, 10, 4);
        _fake.ReplaceBatches.Select(b => b.Session).Distinct().Should().ContainSingle("one session for the whole upload");
        var replace = Sent("POST", "usersreplace").First().Json!["session"]!;
        replace["estimated_num_total"]!.GetValue<long>().Should().BeGreaterThanOrEqualTo(10);
        Sent("DELETE", "users").Should().BeEmpty("the replace dropped everyone not uploaded; no removal call is needed");
        audience.Emails.Should().BeEquivalentTo(Enumerable.Range(3, 24).Select(i => Sha($"person{i}@example.com")), "the audience is exactly the segment now");
        run.Counts.Removed.Should().Be(2);

        h.Segments.Set("vip", ids.Skip(3));
        var delta = await h.RunAsync("ads");
        delta.Counts.Removed.Should().Be(1, "the state committed at the end of the replace is the delta's base");
        Sent("DELETE", "users").Should().ContainSingle();
    }

    [Fact]
    public async Task A_batch_holds_at_most_Metas_10000_rows()
    {
        var h = Start();
        var people = Enumerable.Range(1, 10_001).Select(i => ($"u{i}", new Dictionary<string, object?> { ["email"] = $"p{i}@example.com", ["ads_consent"] = true })).ToList();
        await Seed(h, people, lookUp: false);
        var all = h.Host.Service<IProfileReader>().ListAfter(0, 20_000).Select(p => p.Id).ToList();
        all.Should().HaveCount(10_001);
        h.Segments.Set("vip", all);

        var run = await h.RunAsync("ads");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        Sent("POST", "users").Select(r => r.Json!["payload"]!["data"]!.AsArray().Count).Should().Equal(10_000, 1);
        _fake.Audiences.Values.Single().Rows.Should().HaveCount(10_001);
    }

    [Fact]
    public async Task A_rate_limit_error_is_retried_after_the_wait_Meta_names_and_the_run_succeeds()
    {
        var h = Start();
        var ids = await SeedPeople(h, 2);
        h.Segments.Set("vip", ids);
        _fake.Fail(r => r.Method == "POST" && r.Path.EndsWith("/users", StringComparison.Ordinal),
            MetaFake.Error("(#80003) There have been too many calls to this ad-account. Wait a bit and try again.", 80003, subcode: 2446079,
                headers: new Dictionary<string, string> { ["X-Business-Use-Case-Usage"] = "{\"" + Account + "\":[{\"type\":\"custom_audience\",\"call_count\":100,\"total_cputime\":10,\"total_time\":10,\"estimated_time_to_regain_access\":0}]}" }),
            times: 2);

        var run = await h.RunAsync("ads");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        run.Counts.Added.Should().Be(2);
        Sent("POST", "users").Should().HaveCount(3, "two rate-limited attempts, then the accepted one");
    }

    [Fact]
    public async Task A_rate_limit_whose_regain_time_exceeds_MaxRetryDelay_stops_the_run_saying_until_when()
    {
        var h = Start();
        var ids = await SeedPeople(h, 2);
        h.Segments.Set("vip", ids);
        _fake.Fail(r => r.Method == "POST" && r.Path.EndsWith("/users", StringComparison.Ordinal),
            MetaFake.Error("(#17) User request limit reached", 17,
                headers: new Dictionary<string, string> { ["X-Business-Use-Case-Usage"] = "{\"" + Account + "\":[{\"type\":\"ads_management\",\"call_count\":100,\"estimated_time_to_regain_access\":5}]}" }),
            times: 5);

        var run = await h.RunAsync("ads");

        run.Status.Should().Be(SyncRunStatus.Failed);
        Sent("POST", "users").Should().ContainSingle("Meta asked for 5 minutes: not called again early");
        run.Errors.Should().Contain(e => e.Contains("asked to wait 0:05:00") && e.Contains("Meta rate limit, error 17"));
    }

    [Fact]
    public async Task An_invalid_access_token_fails_the_run_at_once_with_a_message_saying_what_to_do()
    {
        var h = Start(new() { ["Cdp:Destinations:meta:AccessToken"] = "EAAGexpiredtoken0000000000" });
        var ids = await SeedPeople(h, 2);
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("ads");

        run.Status.Should().Be(SyncRunStatus.Failed);
        _fake.Requests.Should().ContainSingle("a refused token is not retried");
        var error = run.Errors.Should().ContainSingle().Subject;
        error.Should().Contain("Meta error 190").And.Contain("AccessToken").And.Contain("credentials refused");
        error.Should().NotContain("EAAGexpiredtoken0000000000");
    }

    [Fact]
    public async Task A_permission_error_stops_the_run_instead_of_rejecting_every_batch()
    {
        var h = Start(new() { ["Cdp:Destinations:meta:AdAccountId"] = "act_999" }); // an ad account the system user was not given
        var ids = await SeedPeople(h, 2);
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("ads");

        run.Status.Should().Be(SyncRunStatus.Failed);
        run.Counts.Rejected.Should().Be(0);
        run.Errors.Should().ContainSingle().Which.Should().Contain("Meta permission error 200").And.Contain("ads_management").And.Contain("credentials refused");
        _fake.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task An_erasure_removes_the_person_from_the_audience_by_the_hash_of_their_identifier()
    {
        var h = Start(new() { ["Cdp:Syncs:ads:MaxRemovalShare"] = "1" });
        var ids = await SeedPeople(h, 2);
        h.Segments.Set("vip", ids);
        (await h.RunAsync("ads")).Status.Should().Be(SyncRunStatus.Succeeded);
        var audience = _fake.Audiences.Values.Single();

        var admin = h.Host.AdminClient();
        var deletion = await admin.DeleteAsync($"/api/privacy/profiles/{_profiles["u1"]}");
        deletion.IsSuccessStatusCode.Should().BeTrue(await deletion.Content.ReadAsStringAsync());
        var receiptId = JsonDocument.Parse(await deletion.Content.ReadAsStringAsync()).RootElement.GetProperty("receiptId").GetString();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonElement meta;
        while (true)
        {
            var receipt = JsonDocument.Parse(await admin.GetStringAsync($"/api/privacy/deletions/{receiptId}")).RootElement;
            meta = receipt.GetProperty("followUp").GetProperty("syncs").GetProperty("destinations").EnumerateArray().Single(d => d.GetProperty("destination").GetString() == "meta");
            if (meta.GetProperty("status").GetString() != "pending") break;
            DateTime.UtcNow.Should().BeBefore(deadline, "the erasure job runs in the background");
            await Task.Delay(100);
        }

        meta.GetProperty("status").GetString().Should().Be("deleted", meta.ToString());
        var delete = Sent("DELETE", "users").Should().ContainSingle().Subject;
        delete.Path.Should().Be($"/v21.0/{audience.Id}/users");
        delete.Json!["payload"]!["data"]![0]![0]!.GetValue<string>().Should().Be(Sha("person1@example.com"));
        delete.Body.Should().NotContain("person1@example.com");
        audience.Emails.Should().Equal(Sha("person2@example.com"));
    }

    [Fact]
    public async Task Revoking_consent_for_advertising_only_removes_the_person_from_the_audience_but_not_from_the_email_sync()
    {
        using var mailchimp = new MailchimpFake("0123456789abcdef0123456789abcdef-us21", "a1b2c3d4e5") { Contract = VendorContract.Mailchimp };
        var h = Start(new()
        {
            ["Cdp:Destinations:mc:Type"] = "Mailchimp", ["Cdp:Destinations:mc:BaseUrl"] = mailchimp.Url,
            ["Cdp:Destinations:mc:ApiKey"] = "0123456789abcdef0123456789abcdef-us21", ["Cdp:Destinations:mc:ListId"] = "a1b2c3d4e5",
            ["Cdp:Syncs:newsletter:Segment"] = "vip", ["Cdp:Syncs:newsletter:Destination"] = "mc", ["Cdp:Syncs:newsletter:Enabled"] = "false",
            ["Cdp:Syncs:newsletter:MaxRemovalShare"] = "1", ["Cdp:Syncs:ads:MaxRemovalShare"] = "1",
        });
        var ids = await SeedPeople(h, 2);
        h.Segments.Set("vip", ids);
        (await h.RunAsync("ads")).Counts.Added.Should().Be(2, "the Meta sync filters on advertising consent by default");
        (await h.RunAsync("newsletter")).Counts.Added.Should().Be(2);

        var revoked = Traits(1, ads: false);
        await Seed(h, [("u1", revoked)]);
        var ads = await h.RunAsync("ads");
        var newsletter = await h.RunAsync("newsletter");

        ads.Counts.Removed.Should().Be(1);
        _fake.Audiences.Values.Single().Emails.Should().Equal(Sha("person2@example.com"));
        newsletter.Counts.Removed.Should().Be(0, "marketing consent still stands: the email sync keeps the person");
        newsletter.Counts.Unsubscribed.Should().Be(0);
        mailchimp.Tagged("newsletter").Should().Contain("person1@example.com");
        mailchimp.ContractViolations.Should().BeEmpty();
    }

    [Fact]
    public async Task A_value_based_seed_sends_the_computed_lifetime_revenue_as_LOOKALIKE_VALUE_and_a_missing_value_as_0()
    {
        var h = Start(new()
        {
            ["Cdp:Profiles:ComputedTraits:lifetime_revenue:Kind"] = "Sum",
            ["Cdp:Profiles:ComputedTraits:lifetime_revenue:Event"] = "Order Completed",
            ["Cdp:Profiles:ComputedTraits:lifetime_revenue:Property"] = "revenue",
            ["Cdp:Syncs:ads:ValueTrait"] = "computed.lifetime_revenue",
        });
        var ids = await Seed(h, [("u1", Traits(1)), ("u2", Traits(2)), ("u3", Traits(3))]); // u3 never ordered: no value
        await h.Host.TrackingClient().SendBatch([
            JsonSerializer.Serialize(new { type = "track", userId = "u1", @event = "Order Completed", properties = new { revenue = 120.5 } }),
            JsonSerializer.Serialize(new { type = "track", userId = "u1", @event = "Order Completed", properties = new { revenue = 79.5 } }),
            JsonSerializer.Serialize(new { type = "track", userId = "u2", @event = "Order Completed", properties = new { revenue = 35 } }),
        ]);
        await h.Host.Processed();
        h.Segments.Set("vip", ids);

        var dry = await h.RunAsync("ads", dryRun: true);
        dry.FirstPayload.Should().Contain("LOOKALIKE_VALUE").And.Contain(Sha("person1@example.com")).And.NotContain("person1@example.com");
        var run = await h.RunAsync("ads");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        run.Counts.Rejected.Should().Be(0, "a missing value costs the value, never the row");
        Sent("POST", "customaudiences").Single().Json!["is_value_based"]!.GetValue<bool>().Should().BeTrue();
        var payload = Sent("POST", "users").Single().Json!["payload"]!;
        payload["schema"]!.AsArray().Select(s => (string)s!).Last().Should().Be("LOOKALIKE_VALUE");
        var values = payload["data"]!.AsArray().ToDictionary(r => r![0]!.GetValue<string>(), r => r![r!.AsArray().Count - 1]!.GetValue<string>());
        values.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            [Sha("person1@example.com")] = "200", [Sha("person2@example.com")] = "35", [Sha("person3@example.com")] = "0",
        });
    }

    [Fact]
    public async Task A_dry_run_shows_the_first_payload_with_hashes_and_sends_nothing()
    {
        var h = Start();
        var ids = await SeedPeople(h, 3);
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("ads", dryRun: true);

        run.Status.Should().Be(SyncRunStatus.DryRun);
        _fake.Requests.Should().BeEmpty();
        var payload = JsonNode.Parse(run.FirstPayload!)!["payload"]!;
        payload["data"]!.AsArray().Should().HaveCount(3);
        run.FirstPayload.Should().Contain(Sha("person2@example.com")).And.NotContainAny("example.com", "O'Neil", "650");
        run.Samples.SelectMany(s => s.Fields.Values).Should().OnlyContain(v => v == null || v.Length == 64, "samples show the hashes sent, never raw values");
    }

    [Fact]
    public void An_ad_audience_sync_filters_on_advertising_consent_unless_it_names_a_purpose()
    {
        var h = Start(new()
        {
            ["Cdp:Syncs:explicit:Segment"] = "vip", ["Cdp:Syncs:explicit:Destination"] = "meta", ["Cdp:Syncs:explicit:Enabled"] = "false",
            ["Cdp:Syncs:explicit:ConsentPurpose"] = "",
        });
        var options = h.Host.Service<IOptions<Cdp.Modules.Activation.Configuration.ActivationOptions>>().Value;
        options.Syncs["ads"].EffectiveConsentPurpose(options.Destinations["meta"]).Should().Be("advertising");
        options.Syncs["explicit"].EffectiveConsentPurpose(options.Destinations["meta"]).Should().Be("", "an explicit empty purpose means no consent filter");
    }

    [Theory]
    [InlineData("Cdp:Destinations:meta:AccessToken", "", "Cdp:Destinations:meta:AccessToken: is required")]
    [InlineData("Cdp:Destinations:meta:AdAccountId", "", "Cdp:Destinations:meta:AdAccountId: is required when AudienceId is empty")]
    [InlineData("Cdp:Destinations:meta:AdAccountId", "my-account", "Cdp:Destinations:meta:AdAccountId")]
    [InlineData("Cdp:Destinations:meta:AudienceId", "abc", "Cdp:Destinations:meta:AudienceId")]
    [InlineData("Cdp:Destinations:meta:ApiVersion", "21", "Cdp:Destinations:meta:ApiVersion")]
    [InlineData("Cdp:Destinations:meta:CustomerFileSource", "FROM_A_FRIEND", "Cdp:Destinations:meta:CustomerFileSource")]
    [InlineData("Cdp:Destinations:meta:Identifiers:SSN", "traits.ssn", "Cdp:Destinations:meta:Identifiers:SSN")]
    [InlineData("Cdp:Destinations:meta:Identifiers:EMAIL", "email", "Cdp:Destinations:meta:Identifiers:EMAIL")]
    [InlineData("Cdp:Destinations:meta:DefaultPhoneRegion", "USA", "Cdp:Destinations:meta:DefaultPhoneRegion")]
    [InlineData("Cdp:Destinations:meta:BatchSize", "10001", "Cdp:Destinations:meta:BatchSize")]
    [InlineData("Cdp:Syncs:ads:ValueTrait", "lifetime_revenue", "Cdp:Syncs:ads:ValueTrait")]
    [InlineData("Cdp:Syncs:ads:Identifier", "user_id", "Cdp:Syncs:ads:Identifier")]
    [InlineData("Cdp:Syncs:ads:FieldMappings:FN", "traits.first_name", "Cdp:Syncs:ads:FieldMappings")]
    public async Task Invalid_Meta_settings_stop_the_start_with_a_message_naming_the_key(string key, string value, string named)
    {
        using var folder = new TempFolder();
        var args = new List<string> { $"--Cdp:Storage:Path={folder.File("cdp.db")}", "--Cdp:Admin:ApiKeys:ops:Key=" + CdpHost.AdminKey };
        args.AddRange(new Dictionary<string, string>
        {
            ["Cdp:Destinations:meta:Type"] = "MetaCustomAudience", ["Cdp:Destinations:meta:AccessToken"] = Token, ["Cdp:Destinations:meta:AdAccountId"] = Account,
            ["Cdp:Syncs:ads:Segment"] = "vip", ["Cdp:Syncs:ads:Destination"] = "meta", ["Cdp:Syncs:ads:Cron"] = "0 3 * * *",
        }.Where(p => p.Key != key).Select(p => $"--{p.Key}={p.Value}"));
        args.Add($"--{key}={value}");
        var app = Cdp.Host.CdpApp.Build(Cdp.Host.CdpApp.CreateBuilder([.. args]));
        await using (app)
        {
            var validate = () => Cdp.Host.CdpApp.ValidateSettings(app.Services);
            validate.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain(named);
        }
    }
}
