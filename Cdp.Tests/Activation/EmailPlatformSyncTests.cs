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

    private readonly BrevoFake _brevo = new(BrevoKey, 7);
    private readonly SendGridFake _sendGrid = new(SendGridKey, "list-uuid-1");
    private ActivationHarness? _harness;

    private ActivationHarness Start(Dictionary<string, string?>? extra = null)
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
            ["Cdp:Destinations:sg:ListId"] = "list-uuid-1",
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
        return _harness = new ActivationHarness(settings);
    }

    public void Dispose()
    {
        _harness?.Dispose();
        _brevo.Dispose();
        _sendGrid.Dispose();
    }

    [Fact]
    public async Task Brevo_imports_are_polled_to_completion_a_429_waits_for_x_sib_ratelimit_reset_and_removals_go_150_at_a_time()
    {
        var h = Start();
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

    [Fact]
    public async Task SendGrid_upserts_with_list_ids_polls_the_job_honours_X_RateLimit_Reset_and_rejects_only_the_rows_named_in_a_400()
    {
        var h = Start();
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
        put["list_ids"]![0]!.GetValue<string>().Should().Be("list-uuid-1");
        put["contacts"]![0]!["first_name"]!.GetValue<string>().Should().StartWith("First");
        put["contacts"]![0]!["custom_fields"]!["tier"]!.GetValue<string>().Should().StartWith("First");
        _sendGrid.Requests.Count(r => r.Method == "PUT").Should().Be(3, "the 429, the 400 naming row 3, the resend without it");
        _sendGrid.Requests.Count(r => r.Path.StartsWith("/v3/marketing/contacts/imports/")).Should().Be(2, "pending, then completed");
        _sendGrid.Requests.Should().OnlyContain(r => r.Header("Authorization") == "Bearer " + SendGridKey);
    }

    [Fact]
    public async Task SendGrid_removes_leavers_from_the_list_by_contact_id_looked_up_by_email()
    {
        var h = Start();
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
