using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Shared.Configuration;
using Cdp.Tests.Support;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Activation;

/// <summary>Brevo and SendGrid fakes: imports polled to completion, rate-limit headers, per-row errors, removals, auth.</summary>
public sealed class EmailPlatformSyncTests : IDisposable
{
    private const string BrevoKey = "xkeysib-0123456789abcdef0123456789abcdef";
    private const string SendGridKey = "SG.testkey.0123456789abcdef";

    /// <summary>SendGrid list ids are UUIDs (list_ids items have format uuid in its OpenAPI document).</summary>
    private const string SendGridList = "0d7d4f3e-59c4-4b0c-9a5e-5f2d8c1e7a10";

    private readonly BrevoFake _brevo = new(BrevoKey, 7) { Contract = VendorContract.Brevo };
    private readonly SendGridFake _sendGrid = new(SendGridKey, SendGridList) { Contract = VendorContract.SendGrid };
    private ActivationHarness? _harness;

    public static TheoryData<string> Providers => CdpHost.Providers;

    private ActivationHarness Start(Dictionary<string, string?>? extra = null, string? provider = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Cdp:Destinations:brevo:Type"] = "Brevo",
            ["Cdp:Destinations:brevo:BaseUrl"] = _brevo.Url,
            ["Cdp:Destinations:brevo:ApiKey"] = BrevoKey,
            ["Cdp:Destinations:brevo:ListId"] = "7",
            ["Cdp:Destinations:brevo:PollInterval"] = "00:00:00.020",
            ["Cdp:Destinations:brevo:RetryBaseDelay"] = "00:00:00.010",
            ["Cdp:Destinations:sg:Type"] = "SendGrid",
            ["Cdp:Destinations:sg:BaseUrl"] = _sendGrid.Url,
            ["Cdp:Destinations:sg:ApiKey"] = SendGridKey,
            ["Cdp:Destinations:sg:ListId"] = SendGridList,
            ["Cdp:Destinations:sg:PollInterval"] = "00:00:00.020",
            ["Cdp:Destinations:sg:RetryBaseDelay"] = "00:00:00.010",
            ["Cdp:Syncs:to-brevo:Segment"] = "vip",
            ["Cdp:Syncs:to-brevo:Destination"] = "brevo",
            ["Cdp:Syncs:to-brevo:Cron"] = "0 3 * * *",
            ["Cdp:Syncs:to-brevo:FieldMappings:FIRSTNAME"] = "traits.first_name",
            ["Cdp:Syncs:to-sendgrid:Segment"] = "vip",
            ["Cdp:Syncs:to-sendgrid:Destination"] = "sg",
            ["Cdp:Syncs:to-sendgrid:Cron"] = "0 3 * * *",
            ["Cdp:Syncs:to-sendgrid:FieldMappings:first_name"] = "traits.first_name",
            ["Cdp:Syncs:to-sendgrid:FieldMappings:tier"] = "traits.first_name",
        };
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        return _harness = new ActivationHarness(settings, provider: provider);
    }

    public void Dispose()
    {
        _harness?.Dispose();
        _brevo.Dispose();
        _sendGrid.Dispose();
        // Every request every test sent was checked against the vendor's own published OpenAPI document.
        _brevo.ContractViolations.Should().BeEmpty("Brevo's OpenAPI document (TestData/vendor-openapi) must accept every request");
        _sendGrid.ContractViolations.Should().BeEmpty("SendGrid's OpenAPI document (TestData/vendor-openapi) must accept every request");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Brevo_imports_are_polled_to_completion_a_429_waits_for_x_sib_ratelimit_reset_and_removals_go_150_at_a_time(string provider)
    {
        var h = Start(provider: provider);
        var ids = await h.SeedAsync(ActivationHarness.People(320));
        h.Segments.Set("vip", ids);
        _brevo.Fail(r => r.Path == "/v3/contacts/import",
            FakeResponse.Json(429, new { code = "too_many_requests", message = "rate limited" }, new Dictionary<string, string> { ["x-sib-ratelimit-reset"] = "1" }));

        var run = await h.RunAsync("to-brevo");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        run.Counts.Added.Should().Be(320);
        _brevo.Contacts.Should().HaveCount(320);
        _brevo.Contacts["person5@example.com"]["FIRSTNAME"]!.GetValue<string>().Should().Be("First5");
        _brevo.Requests.Where(r => r.Path == "/v3/contacts/import").Should().HaveCount(2, "the 429, then the accepted import");
        _brevo.Requests.Count(r => r.Path.StartsWith("/v3/processes/")).Should().Be(3, "queued, in_process, completed");
        _brevo.Requests.Should().OnlyContain(r => r.Header("api-key") == BrevoKey);

        h.Segments.Set("vip", ids.Skip(160));
        _brevo.FailRemoval.Add("person1@example.com");
        var removal = await h.RunAsync("to-brevo", allowMassRemoval: true);

        removal.Status.Should().Be(SyncRunStatus.Partial);
        removal.Counts.Removed.Should().Be(159);
        removal.Counts.Rejected.Should().Be(1);
        var removes = _brevo.Requests.Where(r => r.Path == "/v3/contacts/lists/7/contacts/remove").ToList();
        removes.Select(r => r.Json!["emails"]!.AsArray().Count).Should().Equal(150, 10);
        _brevo.InList.Should().HaveCount(161);
        h.Syncs.Find("to-brevo")!.Members.Should().Be(161, "the refused removal stays in the state and is tried again");
    }

    [Fact]
    public async Task Brevo_401_aborts_the_run()
    {
        var h = Start(new() { ["Cdp:Destinations:brevo:ApiKey"] = "xkeysib-wrong-key-000000" });
        var ids = await h.SeedAsync(ActivationHarness.People(2));
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("to-brevo");

        run.Status.Should().Be(SyncRunStatus.Failed);
        run.Errors.Should().ContainSingle().Which.Should().Contain("401").And.NotContain("wrong-key");
        _brevo.Requests.Should().HaveCount(1);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task SendGrid_upserts_with_list_ids_polls_the_job_honours_X_RateLimit_Reset_and_rejects_only_the_rows_named_in_a_400(string provider)
    {
        var h = Start(provider: provider);
        var ids = await h.SeedAsync(ActivationHarness.People(6));
        h.Segments.Set("vip", ids);
        _sendGrid.Invalid.Add("person4@example.com");
        var reset = DateTimeOffset.UtcNow.AddSeconds(1).ToUnixTimeSeconds().ToString();
        _sendGrid.Fail(r => r.Method == "PUT", FakeResponse.Json(429, new { errors = new[] { new { message = "too many requests" } } },
            new Dictionary<string, string> { ["X-RateLimit-Reset"] = reset, ["X-RateLimit-Remaining"] = "0" }));

        var run = await h.RunAsync("to-sendgrid");

        run.Status.Should().Be(SyncRunStatus.Partial, string.Join("; ", run.Errors));
        run.Counts.Added.Should().Be(5);
        run.Counts.Rejected.Should().Be(1);
        run.Errors.Should().ContainSingle(e => e.Contains("person4@example.com") && e.Contains("contacts[3].email"));
        _sendGrid.InList.Should().HaveCount(5).And.NotContain("person4@example.com");
        var put = _sendGrid.Requests.Last(r => r.Method == "PUT").Json!;
        put["list_ids"]![0]!.GetValue<string>().Should().Be(SendGridList);
        put["contacts"]![0]!["first_name"]!.GetValue<string>().Should().StartWith("First");
        put["contacts"]![0]!["custom_fields"]!["tier"]!.GetValue<string>().Should().StartWith("First");
        _sendGrid.Requests.Count(r => r.Method == "PUT").Should().Be(3, "the 429, the 400 naming row 3, the resend without it");
        _sendGrid.Requests.Count(r => r.Path.StartsWith("/v3/marketing/contacts/imports/")).Should().Be(2, "pending, then completed");
        _sendGrid.Requests.Should().OnlyContain(r => r.Header("Authorization") == "Bearer " + SendGridKey);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task SendGrid_removes_leavers_from_the_list_by_contact_id_looked_up_by_email(string provider)
    {
        var h = Start(provider: provider);
        var ids = await h.SeedAsync(ActivationHarness.People(4));
        h.Segments.Set("vip", ids);
        await h.RunAsync("to-sendgrid");

        h.Segments.Set("vip", ids.Skip(1));
        var run = await h.RunAsync("to-sendgrid");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        run.Counts.Removed.Should().Be(1);
        _sendGrid.Requests.Should().ContainSingle(r => r.Path == "/v3/marketing/contacts/search/emails");
        var delete = _sendGrid.Requests.Single(r => r.Method == "DELETE");
        delete.Query.Should().Contain(_sendGrid.Contacts["person1@example.com"].Id);
        _sendGrid.InList.Should().HaveCount(3).And.NotContain("person1@example.com");
    }

    [Fact]
    public void The_vendors_OpenAPI_contracts_name_the_field_a_request_breaks()
    {
        var longName = new string('x', 51);
        var put = new FakeRequest("PUT", "/v3/marketing/contacts", "", new Dictionary<string, string>(),
            $$"""{"list_ids":["{{SendGridList}}"],"contacts":[{"email":"a@example.com"},{"email":"b@example.com","first_name":"{{longName}}"}]}""");
        VendorContract.SendGrid.Check(put).Should().ContainSingle().Which.Should().Contain("/contacts/1/first_name").And.Contain("maxLength");
        VendorContract.SendGrid.Check(put with { Body = put.Body.Replace(longName, "Ann") }).Should().BeEmpty();
        VendorContract.SendGrid.Check(put with { Body = put.Body.Replace(longName, "Ann").Replace(SendGridList, "newsletter") }).Should().ContainSingle().Which.Should().Contain("/list_ids/0").And.Contain("format");
        VendorContract.SendGrid.Check(new FakeRequest("DELETE", $"/v3/marketing/lists/{SendGridList}/contacts", "?ids=1", new Dictionary<string, string>(), ""))
            .Should().Contain(v => v.Contains("query parameter ids is not in the contract")).And.Contain(v => v.Contains("required query parameter contact_ids is missing"));
        VendorContract.Brevo.Check(new FakeRequest("POST", "/v3/contacts/lists/seven/contacts/remove", "", new Dictionary<string, string>(), """{"emails":["a@example.com"]}"""))
            .Should().ContainSingle().Which.Should().Contain("path parameter listId");
        VendorContract.Brevo.Check(new FakeRequest("POST", "/v3/contacts/lists/7/contacts/remove", "", new Dictionary<string, string>(), $$"""{"emails":[{{string.Join(",", Enumerable.Range(0, 151).Select(i => $"\"p{i}@example.com\""))}}]}"""))
            .Should().NotBeEmpty("at most 150 emails per removal").And.Contain(v => v.Contains("/emails"));
        VendorContract.Brevo.Check(new FakeRequest("POST", "/v3/contacts/imports", "", new Dictionary<string, string>(), "{}")).Should().ContainSingle().Which.Should().Contain("no such path");
    }

    [Fact]
    public async Task SendGrid_fields_longer_than_its_contract_allows_reject_only_their_row_or_are_cut_when_TruncateLongFields_is_on()
    {
        var h = Start();
        var people = ActivationHarness.People(5).ToList();
        people[1] = people[1] with { FirstName = new string('a', 51) };
        people[3] = people[3] with { FirstName = new string('b', 55) };
        var ids = await h.SeedAsync(people);
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("to-sendgrid");

        run.Status.Should().Be(SyncRunStatus.Partial, string.Join("; ", run.Errors));
        run.Counts.Added.Should().Be(3, "the three rows within SendGrid's limits land in this run");
        run.Counts.Rejected.Should().Be(2);
        run.Errors.Should().Contain(e => e.Contains("person2@example.com") && e.Contains("first_name has 51 characters; SendGrid accepts at most 50"));
        run.Errors.Should().Contain(e => e.Contains("person4@example.com") && e.Contains("first_name has 55 characters"));
        _sendGrid.InList.Should().BeEquivalentTo("person1@example.com", "person3@example.com", "person5@example.com");
        _sendGrid.Requests.Where(r => r.Method == "PUT").Should().OnlyContain(r => !r.Body.Contains(new string('a', 51)), "a row breaking the contract is never sent");

        h.Dispose();
        _sendGrid.InList.Clear();
        var cut = Start(new() { ["Cdp:Destinations:sg:TruncateLongFields"] = "true" });
        var again = await cut.SeedAsync(people);
        cut.Segments.Set("vip", again);
        var truncated = await cut.RunAsync("to-sendgrid");
        truncated.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", truncated.Errors));
        _sendGrid.Contacts["person4@example.com"].Contact["first_name"]!.GetValue<string>().Should().Be(new string('b', 50));
    }

    [Fact]
    public async Task A_Brevo_import_refused_whole_for_one_bad_row_is_split_until_the_good_rows_land_in_the_same_run()
    {
        var h = Start();
        var ids = await h.SeedAsync(ActivationHarness.People(8));
        h.Segments.Set("vip", ids);
        _brevo.Poison.Add("person3@example.com");

        var run = await h.RunAsync("to-brevo");

        run.Status.Should().Be(SyncRunStatus.Partial, string.Join("; ", run.Errors));
        run.Counts.Added.Should().Be(7);
        run.Counts.Rejected.Should().Be(1);
        run.Errors.Should().ContainSingle().Which.Should().StartWith("person3@example.com").And.Contain("400");
        _brevo.Contacts.Keys.Should().HaveCount(7).And.NotContain("person3@example.com");
        _brevo.Requests.Count(r => r.Path == "/v3/contacts/import").Should().Be(7, "8 rows -> 4+4 -> 2+2 -> 1+1: six more imports isolate one bad row");
    }

    [Fact]
    public async Task A_SendGrid_errored_import_job_rejects_only_the_rows_its_error_report_names()
    {
        var h = Start();
        var ids = await h.SeedAsync(ActivationHarness.People(4));
        h.Segments.Set("vip", ids);
        _sendGrid.ErroredInJob.Add("person2@example.com");

        var run = await h.RunAsync("to-sendgrid");

        run.Status.Should().Be(SyncRunStatus.Partial, string.Join("; ", run.Errors));
        run.Counts.Added.Should().Be(3);
        run.Counts.Rejected.Should().Be(1);
        run.Errors.Should().ContainSingle().Which.Should().Contain("person2@example.com").And.Contain("invalid value for custom field");
        _sendGrid.Requests.Should().Contain(r => r.Path.StartsWith("/reports/", StringComparison.Ordinal), "the job's error report was read");

        _sendGrid.ErroredInJob.Clear();
        var next = await h.RunAsync("to-sendgrid");
        next.Counts.Retried.Should().Be(1, "only the row the report named is sent again");
        next.Counts.Unchanged.Should().Be(3);
        _sendGrid.InList.Should().HaveCount(4);
    }

    [Fact]
    public async Task A_Retry_After_beyond_MaxRetryDelay_is_not_retried_early_and_run_history_says_until_when_the_vendor_asked_to_wait()
    {
        var h = Start(new() { ["Cdp:Destinations:sg:MaxRetryDelay"] = "00:00:03" });
        var ids = await h.SeedAsync(ActivationHarness.People(2));
        h.Segments.Set("vip", ids);
        _sendGrid.Fail(r => r.Method == "PUT", FakeResponse.Json(429, new { errors = new[] { new { message = "too many requests" } } },
            new Dictionary<string, string> { ["Retry-After"] = "30" }));

        var run = await h.RunAsync("to-sendgrid");

        run.Status.Should().Be(SyncRunStatus.Failed);
        _sendGrid.Requests.Count(r => r.Method == "PUT").Should().Be(1, "a vendor asking for 30 s is not called again after 3 s");
        run.Errors.Should().ContainSingle().Which.Should().Contain("asked to wait 0:00:30").And.Contain("longer than MaxRetryDelay 0:00:03")
            .And.Contain("next attempt: the next");
    }

    [Theory]
    [InlineData("Cdp:Syncs:to-brevo:Destination", "nowhere", "Cdp:Syncs:to-brevo:Destination")]
    [InlineData("Cdp:Syncs:to-brevo:Identifier", "phone", "Cdp:Syncs:to-brevo:Identifier")]
    [InlineData("Cdp:Syncs:to-brevo:FieldMappings:FIRSTNAME", "first_name", "Cdp:Syncs:to-brevo:FieldMappings:FIRSTNAME")]
    [InlineData("Cdp:Syncs:to-brevo:MaxRemovalShare", "1.5", "Cdp:Syncs:to-brevo:MaxRemovalShare")]
    [InlineData("Cdp:Destinations:brevo:ListId", "newsletter", "Cdp:Destinations:brevo:ListId")]
    [InlineData("Cdp:Destinations:sg:ApiKey", "", "Cdp:Destinations:sg:ApiKey")]
    [InlineData("Cdp:Destinations:brevo:Type", "Mailjet", "Cdp:Destinations:brevo:Type")]
    [InlineData("Cdp:Syncs:to-brevo:RequireConsent", "false", "Cdp:Syncs:to-brevo:RequireConsent: was replaced by ConsentPurpose")]
    [InlineData("Cdp:Syncs:to-brevo:ConsentTrait", "newsletter_ok", "Cdp:Syncs:to-brevo:ConsentTrait: was replaced by Cdp:Profiles:ConsentTraits")]
    [InlineData("Cdp:Destinations:mail-archive:Type", "SendGrid", "Cdp:Destinations:mail-archive:ApiKey: is required (set it with the environment variable Cdp__Destinations__mail-archive__ApiKey; its name holds '-', which bash's export refuses: start Cdp with env 'Cdp__Destinations__mail-archive__ApiKey=...' Cdp.Host")]
    public async Task Invalid_activation_settings_stop_the_start_with_a_message_naming_the_key(string key, string value, string named)
    {
        using var folder = new TempFolder();
        var args = new List<string> { $"--Cdp:Storage:Path={folder.File("cdp.db")}", "--Cdp:Admin:ApiKeys:ops:Key=" + CdpHost.AdminKey };
        args.AddRange(new Dictionary<string, string>
        {
            ["Cdp:Destinations:brevo:Type"] = "Brevo", ["Cdp:Destinations:brevo:ApiKey"] = BrevoKey, ["Cdp:Destinations:brevo:ListId"] = "7",
            ["Cdp:Destinations:sg:Type"] = "SendGrid", ["Cdp:Destinations:sg:ApiKey"] = SendGridKey, ["Cdp:Destinations:sg:ListId"] = "l",
            ["Cdp:Syncs:to-brevo:Segment"] = "vip", ["Cdp:Syncs:to-brevo:Destination"] = "brevo", ["Cdp:Syncs:to-brevo:Cron"] = "0 3 * * *",
            ["Cdp:Syncs:to-brevo:FieldMappings:FIRSTNAME"] = "traits.first_name",
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
