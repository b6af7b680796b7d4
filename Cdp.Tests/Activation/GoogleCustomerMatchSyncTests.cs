using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Activation.Destinations.Google;
using Cdp.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Activation;

/// <summary>A person for the Customer Match tests: identifiers, consent per purpose and a lifetime revenue.</summary>
public sealed record AdPerson(string UserId, string Email, bool Advertising = true, bool Personalization = true, string? Phone = null,
    string? FirstName = null, string? LastName = null, string? Country = null, string? Zip = null, double? Revenue = null);

/// <summary>Google Ads Customer Match through the sync engine against <see cref="GoogleAdsFake"/> (requests checked against Google's protos).</summary>
public sealed class GoogleCustomerMatchSyncTests : IDisposable
{
    private readonly GoogleAdsFake _google = new();
    private ActivationHarness? _harness;

    public static TheoryData<string> Providers => CdpHost.Providers;

    private ActivationHarness Start(Dictionary<string, string?>? extra = null, string? provider = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Cdp:Profiles:ConsentTraits:ads_consent"] = "advertising",
            ["Cdp:Profiles:ConsentTraits:personalization_consent"] = "personalization",
            ["Cdp:Destinations:ads:Type"] = "GoogleCustomerMatch",
            ["Cdp:Destinations:ads:BaseUrl"] = _google.Url,
            ["Cdp:Destinations:ads:TokenUrl"] = _google.Url + "/token",
            ["Cdp:Destinations:ads:CustomerId"] = "123-456-7890",
            ["Cdp:Destinations:ads:LoginCustomerId"] = GoogleAdsFake.ManagerId,
            ["Cdp:Destinations:ads:UserListId"] = GoogleAdsFake.UserListId,
            ["Cdp:Destinations:ads:DeveloperToken"] = GoogleAdsFake.DeveloperToken,
            ["Cdp:Destinations:ads:ClientId"] = GoogleAdsFake.ClientId,
            ["Cdp:Destinations:ads:ClientSecret"] = GoogleAdsFake.ClientSecret,
            ["Cdp:Destinations:ads:RefreshToken"] = GoogleAdsFake.RefreshToken,
            ["Cdp:Destinations:ads:PollInterval"] = "00:00:00.020",
            ["Cdp:Destinations:ads:RetryBaseDelay"] = "00:00:00.010",
            ["Cdp:Syncs:to-ads:Segment"] = "vip",
            ["Cdp:Syncs:to-ads:Destination"] = "ads",
            ["Cdp:Syncs:to-ads:Enabled"] = "false",
            ["Cdp:Syncs:to-ads:MaxRemovalShare"] = "1",
            ["Cdp:Syncs:to-ads:FieldMappings:phone"] = "traits.phone",
            ["Cdp:Syncs:to-ads:FieldMappings:firstName"] = "traits.first_name",
            ["Cdp:Syncs:to-ads:FieldMappings:lastName"] = "traits.last_name",
            ["Cdp:Syncs:to-ads:FieldMappings:countryCode"] = "traits.country",
            ["Cdp:Syncs:to-ads:FieldMappings:postalCode"] = "traits.zip",
        };
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        return _harness = new ActivationHarness(settings, provider: provider);
    }

    public void Dispose()
    {
        _harness?.Dispose();
        _google.Dispose();
        _google.ContractViolations.Should().BeEmpty("Google's protos (TestData/google-ads-protos) must accept every request");
    }

    private static async Task<IReadOnlyList<string>> Seed(ActivationHarness h, params AdPerson[] people)
    {
        var tracking = h.Host.TrackingClient();
        await tracking.SendBatch(people.Select(p => JsonSerializer.Serialize(new
        {
            type = "identify",
            userId = p.UserId,
            traits = new Dictionary<string, object?>
            {
                ["email"] = p.Email, ["ads_consent"] = p.Advertising, ["personalization_consent"] = p.Personalization, ["marketing_consent"] = true,
                ["phone"] = p.Phone, ["first_name"] = p.FirstName, ["last_name"] = p.LastName, ["country"] = p.Country, ["zip"] = p.Zip, ["lifetime_revenue"] = p.Revenue,
            },
            timestamp = DateTime.UtcNow.ToString("O"),
        })));
        await h.Host.Processed();
        var admin = h.Host.AdminClient();
        var ids = new List<string>();
        foreach (var p in people) ids.Add(await admin.ProfileId("user_id:" + p.UserId));
        return ids;
    }

    private static AdPerson[] People(int count) =>
        Enumerable.Range(1, count).Select(i => new AdPerson($"u{i}", $"person{i}@example.com", FirstName: $"First{i}", LastName: "Doe", Country: "US", Zip: "10011")).ToArray();

    private static string Hash(string email) => CustomerMatchIdentifiers.Sha256(email);

    private static List<JsonObject> Operations(GoogleAdsFake.Job job) => job.Operations;

    private IEnumerable<FakeRequest> Api => _google.Requests.Where(r => r.Path.StartsWith("/v25/", StringComparison.Ordinal));

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task First_sync_creates_a_job_for_the_user_list_adds_only_hashes_runs_it_and_polls_it_to_SUCCESS(string provider)
    {
        var h = Start(provider: provider);
        var jane = new AdPerson("u-jane", "Jane.Doe@Example.com", Phone: "+1 212 565 0000", FirstName: "Jane", LastName: "Doe", Country: "us", Zip: "10011");
        var ids = await Seed(h, [jane, .. People(3)]);
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("to-ads");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        run.Counts.Added.Should().Be(4);
        var job = _google.Jobs.Values.Should().ContainSingle().Subject;
        job.Status.Should().Be("SUCCESS");
        job.Definition["type"]!.GetValue<string>().Should().Be("CUSTOMER_MATCH_USER_LIST");
        job.Definition["customerMatchUserListMetadata"]!["userList"]!.GetValue<string>().Should().Be("customers/1234567890/userLists/5550001");
        _google.List.Keys.Should().BeEquivalentTo(new[] { "jane.doe@example.com", "person1@example.com", "person2@example.com", "person3@example.com" }.Select(Hash));
        var janeData = _google.List[Hash("jane.doe@example.com")];
        janeData.ToJsonString().Should().Be(new JsonObject
        {
            ["userIdentifiers"] = new JsonArray(
                new JsonObject { ["hashedEmail"] = Hash("jane.doe@example.com") },
                new JsonObject { ["hashedPhoneNumber"] = Hash("+12125650000") },
                new JsonObject { ["addressInfo"] = new JsonObject { ["hashedFirstName"] = Hash("jane"), ["hashedLastName"] = Hash("doe"), ["countryCode"] = "US", ["postalCode"] = "10011" } }),
        }.ToJsonString());
        Api.Select(r => r.Path.Split('/').Last()).Should().StartWith(["offlineUserDataJobs:create", "100:addOperations", "100:run", "googleAds:search"]);
        Api.Count(r => r.Path.EndsWith("googleAds:search", StringComparison.Ordinal)).Should().Be(2, "RUNNING, then SUCCESS");
        Api.Should().OnlyContain(r => r.Header("developer-token") == GoogleAdsFake.DeveloperToken && r.Header("login-customer-id") == GoogleAdsFake.ManagerId
                                      && r.Header("Authorization") == "Bearer " + _google.IssuedTokens[0]);
        _google.TokenRequests.Should().Be(1, "the access token is cached for the run");
        foreach (var raw in new[] { "Jane.Doe", "jane.doe", "person1@", "212", "Jane\"", "First1" })
            _google.Requests.Should().NotContain(r => r.Body.Contains(raw, StringComparison.Ordinal), $"only hashes leave Cdp ({raw})");
        h.Syncs.Find("to-ads")!.Members.Should().Be(4);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_delta_run_sends_joiners_as_create_and_leavers_as_remove_in_one_job_and_nothing_for_the_unchanged(string provider)
    {
        var h = Start(provider: provider);
        var ids = await Seed(h, People(4));
        h.Segments.Set("vip", ids.Take(3));
        (await h.RunAsync("to-ads")).Counts.Added.Should().Be(3);

        h.Segments.Set("vip", ids.Skip(1)); // person1 leaves, person4 joins
        var run = await h.RunAsync("to-ads");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        (run.Counts.Added, run.Counts.Removed, run.Counts.Unchanged).Should().Be((1, 1, 2));
        var job = _google.Jobs.Values.Last();
        Operations(job).Select(o => o.Single().Key + ":" + GoogleAdsFake.MemberKey(o.Single().Value!.AsObject()))
            .Should().Equal($"create:{Hash("person4@example.com")}", $"remove:{Hash("person1@example.com")}");
        _google.List.Keys.Should().BeEquivalentTo(new[] { "person2@example.com", "person3@example.com", "person4@example.com" }.Select(Hash));

        (await h.RunAsync("to-ads")).Counts.Unchanged.Should().Be(3);
        _google.Jobs.Should().HaveCount(2, "a run with nothing to change creates no job");
    }

    [Fact]
    public async Task A_full_resync_starts_its_job_with_removeAll_then_creates_every_current_member()
    {
        var h = Start();
        var ids = await Seed(h, People(3));
        h.Segments.Set("vip", ids);
        await h.RunAsync("to-ads");
        _google.List["stranger-added-by-hand"] = new JsonObject();

        var run = await h.RunAsync("to-ads", full: true);

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        var ops = Operations(_google.Jobs.Values.Last());
        ops[0].ToJsonString().Should().Be("""{"removeAll":true}""");
        ops.Skip(1).Should().HaveCount(3).And.OnlyContain(o => o.ContainsKey("create"));
        _google.List.Keys.Should().BeEquivalentTo(new[] { "person1@example.com", "person2@example.com", "person3@example.com" }.Select(Hash),
            "the list now holds exactly the segment");
    }

    [Fact]
    public async Task Batches_of_BatchSize_members_go_as_several_addOperations_requests_into_the_one_job_of_the_run()
    {
        var h = Start(new() { ["Cdp:Destinations:ads:BatchSize"] = "2" });
        var ids = await Seed(h, People(5));
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("to-ads");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        run.Counts.Batches.Should().Be(3);
        _google.Jobs.Should().ContainSingle();
        Api.Where(r => r.Path.EndsWith(":addOperations", StringComparison.Ordinal)).Select(r => r.Json!["operations"]!.AsArray().Count).Should().Equal(2, 2, 1);
        _google.List.Should().HaveCount(5);
    }

    [Fact]
    public async Task A_partial_failure_rejects_only_the_member_Google_named_and_the_next_run_sends_only_it_again()
    {
        var h = Start();
        var ids = await Seed(h, People(4));
        h.Segments.Set("vip", ids);
        _google.Refused.Add(Hash("person3@example.com"));

        var run = await h.RunAsync("to-ads");

        run.Status.Should().Be(SyncRunStatus.Partial);
        (run.Counts.Added, run.Counts.Rejected).Should().Be((3, 1));
        run.Errors.Should().ContainSingle().Which.Should().StartWith("person3@example.com: Google Ads refused the operation (offlineUserDataJobError INVALID_SHA256_FORMAT)");
        _google.List.Should().HaveCount(3).And.NotContainKey(Hash("person3@example.com"));

        _google.Refused.Clear();
        var retry = await h.RunAsync("to-ads");
        retry.Counts.Retried.Should().Be(1);
        Operations(_google.Jobs.Values.Last()).Should().ContainSingle().Which["create"]!["userIdentifiers"]![0]!["hashedEmail"]!.GetValue<string>().Should().Be(Hash("person3@example.com"));
        _google.List.Should().HaveCount(4);
    }

    [Fact]
    public async Task RESOURCE_EXHAUSTED_429_waits_for_Retry_After_and_CONCURRENT_MODIFICATION_is_retried_then_the_run_succeeds()
    {
        var h = Start();
        var ids = await Seed(h, People(2));
        h.Segments.Set("vip", ids);
        _google.Fail(r => r.Path.EndsWith(":addOperations", StringComparison.Ordinal),
            GoogleAdsFake.Error(429, "RESOURCE_EXHAUSTED", "quotaError", "RESOURCE_EXHAUSTED", "Too many requests.", new Dictionary<string, string> { ["Retry-After"] = "1" }));
        _google.Fail(r => r.Path.EndsWith(":run", StringComparison.Ordinal),
            GoogleAdsFake.Error(409, "ABORTED", "databaseError", "CONCURRENT_MODIFICATION", "Multiple requests were attempting to modify the same resource at once. Retry the request."));

        var run = await h.RunAsync("to-ads");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        Api.Count(r => r.Path.EndsWith(":addOperations", StringComparison.Ordinal)).Should().Be(2, "the 429, then the accepted request");
        Api.Count(r => r.Path.EndsWith(":run", StringComparison.Ordinal)).Should().Be(2, "the 409, then the run");
        _google.List.Should().HaveCount(2);
    }

    /// <summary>Google's RESOURCE_EXHAUSTED answer: no header, the wait in quotaErrorDetails.retryDelay.</summary>
    private static FakeResponse QuotaExhausted(string retryDelay) => new(429, new JsonObject
    {
        ["error"] = new JsonObject
        {
            ["code"] = 429, ["message"] = "Resource has been exhausted (e.g. check quota).", ["status"] = "RESOURCE_EXHAUSTED",
            ["details"] = new JsonArray(new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.ads.googleads.v25.errors.GoogleAdsFailure",
                ["errors"] = new JsonArray(new JsonObject
                {
                    ["errorCode"] = new JsonObject { ["quotaError"] = "RESOURCE_EXHAUSTED" },
                    ["message"] = $"Too many requests. Retry in {retryDelay}.",
                    ["details"] = new JsonObject
                    {
                        ["quotaErrorDetails"] = new JsonObject { ["rateScope"] = "ACCOUNT", ["rateName"] = "Number of operations for basic access", ["retryDelay"] = retryDelay },
                    },
                }),
                ["requestId"] = "req-quota",
            }),
        },
    }.ToJsonString());

    [Fact]
    public async Task Googles_retryDelay_in_the_quota_error_body_is_honoured_like_Retry_After()
    {
        var h = Start(new() { ["Cdp:Destinations:ads:MaxRetryDelay"] = "00:00:03" });
        var ids = await Seed(h, People(2));
        h.Segments.Set("vip", ids);
        _google.Fail(r => r.Path.EndsWith(":addOperations", StringComparison.Ordinal), QuotaExhausted("1s"));

        (await h.RunAsync("to-ads")).Status.Should().Be(SyncRunStatus.Succeeded);
        Api.Count(r => r.Path.EndsWith(":addOperations", StringComparison.Ordinal)).Should().Be(2);

        h.Segments.Set("vip", ids.Take(1));
        _google.Fail(r => r.Path.EndsWith(":addOperations", StringComparison.Ordinal), QuotaExhausted("30s"));
        var run = await h.RunAsync("to-ads");

        run.Status.Should().Be(SyncRunStatus.Failed);
        run.Errors.Should().ContainSingle().Which.Should().Contain("asked to wait 0:00:30").And.Contain("longer than MaxRetryDelay 0:00:03");
        Api.Count(r => r.Path.EndsWith(":addOperations", StringComparison.Ordinal)).Should().Be(3, "a wait of 30 s is not cut short by a retry after 3 s");
    }

    [Fact]
    public async Task A_401_refreshes_the_access_token_once_and_otherwise_the_token_is_reused_across_runs()
    {
        var h = Start();
        var ids = await Seed(h, People(3));
        h.Segments.Set("vip", ids.Take(1));
        await h.RunAsync("to-ads");
        h.Segments.Set("vip", ids.Take(2));
        (await h.RunAsync("to-ads")).Counts.Added.Should().Be(1);
        _google.TokenRequests.Should().Be(1, "the token is cached until shortly before expires_in");

        _google.RevokedTokens.Add(_google.IssuedTokens[0]);
        h.Segments.Set("vip", ids);
        var before = Api.Count();
        var run = await h.RunAsync("to-ads");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        _google.TokenRequests.Should().Be(2, "one refresh after the 401");
        var third = Api.Skip(before).ToList();
        third.Select(r => (r.Path.Split('/').Last(), r.Header("Authorization"))).Take(3).Should().Equal(
            ("offlineUserDataJobs:create", "Bearer " + _google.IssuedTokens[0]), // refused with 401
            ("offlineUserDataJobs:create", "Bearer " + _google.IssuedTokens[1]),
            ("102:addOperations", "Bearer " + _google.IssuedTokens[1]));
        _google.List.Should().HaveCount(3);
    }

    [Fact]
    public async Task A_refresh_token_Google_refuses_fails_the_run_with_what_to_do_and_no_secret()
    {
        var h = Start(new() { ["Cdp:Destinations:ads:RefreshToken"] = "1//revoked-refresh-token-000" });
        var ids = await Seed(h, People(2));
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("to-ads");

        run.Status.Should().Be(SyncRunStatus.Failed);
        run.Errors.Should().ContainSingle().Which.Should().Contain("invalid_grant").And.Contain("Cdp:Destinations:ads:RefreshToken")
            .And.NotContain("revoked-refresh-token");
        Api.Should().BeEmpty("no API call without a token");
        h.Syncs.Find("to-ads")!.Members.Should().Be(0);
    }

    [Fact]
    public async Task A_user_list_Google_does_not_know_stops_the_run_at_the_job_creation_naming_the_list()
    {
        var h = Start(new() { ["Cdp:Destinations:ads:UserListId"] = "999", ["Cdp:Destinations:ads:BatchSize"] = "1" });
        var ids = await Seed(h, People(3));
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("to-ads");

        run.Status.Should().Be(SyncRunStatus.Failed);
        run.Errors.Should().ContainSingle().Which.Should().Contain("INVALID_USER_LIST_ID").And.Contain("customers/1234567890/userLists/999");
        Api.Should().ContainSingle("one refused creation, not one per batch");
        h.Syncs.Find("to-ads")!.Members.Should().Be(0);
    }

    [Fact]
    public async Task A_FAILED_job_fails_the_run_and_records_nothing_as_sent()
    {
        var h = Start();
        var ids = await Seed(h, People(2));
        h.Segments.Set("vip", ids);
        _google.FailNextJob = "UNKNOWN";

        var run = await h.RunAsync("to-ads");

        run.Status.Should().Be(SyncRunStatus.Failed);
        run.Errors.Should().ContainSingle().Which.Should().Contain("ended FAILED");
        h.Syncs.Find("to-ads")!.Members.Should().Be(0, "the next run sends them again");
        (await h.RunAsync("to-ads")).Counts.Added.Should().Be(2);
        _google.List.Should().HaveCount(2);
    }

    [Fact]
    public async Task A_deleted_person_is_removed_from_the_user_list_by_a_job_with_a_remove_operation_of_their_hashed_email()
    {
        var h = Start();
        var ids = await Seed(h, People(2));
        h.Segments.Set("vip", ids);
        await h.RunAsync("to-ads");
        _google.List.Should().ContainKey(Hash("person1@example.com"));

        var admin = h.Host.AdminClient();
        var deletion = await admin.DeleteAsync($"/api/privacy/profiles/{ids[0]}");
        deletion.IsSuccessStatusCode.Should().BeTrue(await deletion.Content.ReadAsStringAsync());
        var receiptId = JsonDocument.Parse(await deletion.Content.ReadAsStringAsync()).RootElement.GetProperty("receiptId").GetString();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonElement destination;
        while (true)
        {
            var receipt = JsonDocument.Parse(await admin.GetStringAsync($"/api/privacy/deletions/{receiptId}")).RootElement;
            destination = receipt.GetProperty("followUp").GetProperty("syncs").GetProperty("destinations").EnumerateArray().Single();
            if (destination.GetProperty("status").GetString() != "pending" || DateTime.UtcNow > deadline) break;
            await Task.Delay(100);
        }

        destination.GetProperty("status").GetString().Should().Be("acknowledged", destination.ToString());
        destination.ToString().Should().NotContain("person1").And.NotContain(Hash("person1@example.com"));
        var job = _google.Jobs.Values.Last();
        job.Operations.Should().ContainSingle().Which.ToJsonString().Should().Be("{\"remove\":{\"userIdentifiers\":[{\"hashedEmail\":\"" + Hash("person1@example.com") + "\"}]}}");
        _google.List.Keys.Should().Equal(Hash("person2@example.com"));
    }

    [Fact]
    public async Task Members_are_sent_only_with_the_consents_mapped_to_ad_user_data_and_ad_personalization_and_leave_when_one_is_revoked()
    {
        var h = Start(new() { ["Cdp:Destinations:ads:AdPersonalizationConsent"] = "personalization" });
        var ids = await Seed(h,
            new AdPerson("u-all", "all@example.com"),
            new AdPerson("u-noperso", "noperso@example.com", Personalization: false),
            new AdPerson("u-noads", "noads@example.com", Advertising: false));
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("to-ads");

        run.Counts.Added.Should().Be(1);
        run.Counts.SkippedNoConsent.Should().Be(2, "advertising is the default purpose of ad audiences; personalization is mapped to ad_personalization");
        _google.List.Keys.Should().Equal(Hash("all@example.com"));
        var consent = _google.Jobs.Values.Single().Definition["customerMatchUserListMetadata"]!["consent"]!;
        consent.ToJsonString().Should().Be("""{"adUserData":"GRANTED","adPersonalization":"GRANTED"}""");

        await Seed(h, new AdPerson("u-all", "all@example.com", Personalization: false)); // revoked
        var revoked = await h.RunAsync("to-ads");

        revoked.Counts.Removed.Should().Be(1);
        _google.List.Should().BeEmpty();
        Operations(_google.Jobs.Values.Last()).Should().ContainSingle().Which.Should().ContainKey("remove");
    }

    [Fact]
    public async Task An_unmapped_consent_field_is_sent_as_UNSPECIFIED_and_asks_nothing_of_the_member()
    {
        var h = Start(new() { ["Cdp:Destinations:ads:AdPersonalizationConsent"] = "" });
        var ids = await Seed(h, new AdPerson("u-noperso", "noperso@example.com", Personalization: false));
        h.Segments.Set("vip", ids);

        (await h.RunAsync("to-ads")).Counts.Added.Should().Be(1);

        _google.Jobs.Values.Single().Definition["customerMatchUserListMetadata"]!["consent"]!.ToJsonString()
            .Should().Be("""{"adUserData":"GRANTED","adPersonalization":"UNSPECIFIED"}""");
    }

    [Fact]
    public async Task A_list_keyed_by_phone_sends_the_E164_hash_read_in_the_members_country_and_skips_numbers_that_are_not_valid()
    {
        var h = Start(new() { ["Cdp:Syncs:to-ads:Identifier"] = "phone" });
        var ids = await Seed(h,
            new AdPerson("u-ny", "ny@example.com", Phone: "(212) 565-0000", Country: "US"),
            new AdPerson("u-bad", "bad@example.com", Phone: "12", Country: "US"));
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("to-ads");

        (run.Counts.Added, run.Counts.Rejected).Should().Be((1, 1));
        run.Errors.Should().ContainSingle().Which.Should().Contain("no identifier Google accepts");
        _google.List.Keys.Should().Equal(Hash("+12125650000"));
        _google.List.Values.Single()["userIdentifiers"]!.AsArray().Should().ContainSingle("no email is sent when the list is keyed by phone");
    }

    [Fact]
    public async Task A_dry_run_shows_the_first_addOperations_body_with_hashes_only_and_calls_nobody()
    {
        var h = Start();
        var ids = await Seed(h, new AdPerson("u-jane", "jane@example.com", FirstName: "Jane", LastName: "Doe", Country: "US", Zip: "10011"));
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("to-ads", dryRun: true);

        run.Status.Should().Be(SyncRunStatus.DryRun);
        run.FirstPayload.Should().Contain(Hash("jane@example.com")).And.Contain(Hash("jane")).And.Contain("\"countryCode\":\"US\"")
            .And.NotContain("jane@example.com").And.NotContain("Jane");
        _google.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task ValueTrait_sends_the_members_value_as_lifetimeValueMicros_in_a_CUSTOMER_MATCH_WITH_ATTRIBUTES_job()
    {
        var h = Start(new() { ["Cdp:Syncs:to-ads:ValueTrait"] = "traits.lifetime_revenue" });
        var ids = await Seed(h, new AdPerson("u-big", "big@example.com", Revenue: 1234.5), new AdPerson("u-none", "none@example.com"));
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("to-ads");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        _google.Jobs.Values.Single().Definition["type"]!.GetValue<string>().Should().Be("CUSTOMER_MATCH_WITH_ATTRIBUTES");
        _google.List[Hash("big@example.com")]["userAttribute"]!.ToJsonString().Should().Be("""{"lifetimeValueMicros":"1234500000"}""");
        _google.List[Hash("none@example.com")].Should().NotContainKey("userAttribute");

        await Seed(h, new AdPerson("u-big", "big@example.com", Revenue: 2000));
        (await h.RunAsync("to-ads")).Counts.Updated.Should().Be(1, "a changed value is sent again");
        _google.List[Hash("big@example.com")]["userAttribute"]!["lifetimeValueMicros"]!.GetValue<string>().Should().Be("2000000000");
    }

    [Theory]
    [InlineData("Cdp:Destinations:ads:CustomerId", "12345", "Cdp:Destinations:ads:CustomerId")]
    [InlineData("Cdp:Destinations:ads:UserListId", "list", "Cdp:Destinations:ads:UserListId")]
    [InlineData("Cdp:Destinations:ads:DeveloperToken", "", "Cdp:Destinations:ads:DeveloperToken: is required (set it with the environment variable Cdp__Destinations__ads__DeveloperToken")]
    [InlineData("Cdp:Destinations:ads:RefreshToken", "", "Cdp:Destinations:ads:RefreshToken")]
    [InlineData("Cdp:Destinations:ads:LoginCustomerId", "abc", "Cdp:Destinations:ads:LoginCustomerId")]
    [InlineData("Cdp:Destinations:ads:ApiVersion", "25", "Cdp:Destinations:ads:ApiVersion")]
    [InlineData("Cdp:Destinations:ads:TokenUrl", "token", "Cdp:Destinations:ads:TokenUrl")]
    [InlineData("Cdp:Destinations:ads:BatchSize", "100001", "Cdp:Destinations:ads:BatchSize")]
    [InlineData("Cdp:Syncs:to-ads:FieldMappings:FN", "traits.first_name", "Cdp:Syncs:to-ads:FieldMappings:FN: 'FN' is not a Customer Match identifier")]
    [InlineData("Cdp:Syncs:to-ads:ValueTrait", "lifetime_revenue", "Cdp:Syncs:to-ads:ValueTrait")]
    public async Task Invalid_Customer_Match_settings_stop_the_start_with_a_message_naming_the_key(string key, string value, string named)
    {
        using var folder = new TempFolder();
        var args = new List<string> { $"--Cdp:Storage:Path={folder.File("cdp.db")}", "--Cdp:Admin:ApiKeys:ops:Key=" + CdpHost.AdminKey };
        args.AddRange(new Dictionary<string, string>
        {
            ["Cdp:Destinations:ads:Type"] = "GoogleCustomerMatch", ["Cdp:Destinations:ads:CustomerId"] = "123-456-7890", ["Cdp:Destinations:ads:UserListId"] = "555",
            ["Cdp:Destinations:ads:DeveloperToken"] = "dev", ["Cdp:Destinations:ads:ClientId"] = "id", ["Cdp:Destinations:ads:ClientSecret"] = "secret",
            ["Cdp:Destinations:ads:RefreshToken"] = "refresh",
            ["Cdp:Syncs:to-ads:Segment"] = "vip", ["Cdp:Syncs:to-ads:Destination"] = "ads", ["Cdp:Syncs:to-ads:Enabled"] = "false",
        }.Where(p => p.Key != key).Select(p => $"--{p.Key}={p.Value}"));
        args.Add($"--{key}={value}");
        var app = Cdp.Host.CdpApp.Build(Cdp.Host.CdpApp.CreateBuilder([.. args]));
        await using (app)
        {
            var validate = () => Cdp.Host.CdpApp.ValidateSettings(app.Services);
            validate.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain(named);
        }
    }

    [Fact]
    public async Task Valid_Customer_Match_settings_start_and_a_sync_of_an_ad_audience_asks_for_advertising_consent_by_default()
    {
        using var folder = new TempFolder();
        var app = Cdp.Host.CdpApp.Build(Cdp.Host.CdpApp.CreateBuilder([
            $"--Cdp:Storage:Path={folder.File("cdp.db")}", "--Cdp:Admin:ApiKeys:ops:Key=" + CdpHost.AdminKey,
            "--Cdp:Destinations:ads:Type=GoogleCustomerMatch", "--Cdp:Destinations:ads:CustomerId=1234567890", "--Cdp:Destinations:ads:UserListId=555",
            "--Cdp:Destinations:ads:DeveloperToken=dev", "--Cdp:Destinations:ads:ClientId=id", "--Cdp:Destinations:ads:ClientSecret=secret",
            "--Cdp:Destinations:ads:RefreshToken=refresh",
            "--Cdp:Syncs:to-ads:Segment=vip", "--Cdp:Syncs:to-ads:Destination=ads", "--Cdp:Syncs:to-ads:Enabled=false",
            "--Cdp:Syncs:explicit:Segment=vip", "--Cdp:Syncs:explicit:Destination=ads", "--Cdp:Syncs:explicit:Enabled=false", "--Cdp:Syncs:explicit:ConsentPurpose=ads_only",
        ]));
        await using (app)
        {
            Cdp.Host.CdpApp.ValidateSettings(app.Services);
            var options = app.Services.GetRequiredService<IOptions<Cdp.Modules.Activation.Configuration.ActivationOptions>>().Value;
            var ads = options.Destinations["ads"];
            options.Syncs["to-ads"].EffectiveConsentPurpose(ads).Should().Be("advertising");
            options.Syncs["explicit"].EffectiveConsentPurpose(ads).Should().Be("ads_only");
        }
    }
}
