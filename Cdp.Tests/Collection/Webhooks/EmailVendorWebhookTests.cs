using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Activation.Contracts;
using Cdp.Tests.Activation;
using Cdp.Tests.Support;
using static Cdp.Tests.Collection.Webhooks.WebhookTestKit;

namespace Cdp.Tests.Collection.Webhooks;

/// <summary>Mailchimp's and Brevo's webhooks on the real host, and opt-outs from all three vendors closing the loop with a sync.</summary>
public sealed class EmailVendorWebhookTests : IDisposable
{
    private const string ApiKey = "0123456789abcdef0123456789abcdef-us21";
    private const string List = "a1b2c3d4e5";

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly MailchimpFake _fake = new(ApiKey, List);
    private readonly Dictionary<string, string?> _settings;
    private CdpHost _host;

    public static TheoryData<string> Providers => CdpHost.Providers;

    /// <summary>The host on <paramref name="provider"/> instead (the LiteDB one was never started).</summary>
    private async Task On(string provider)
    {
        _host.Dispose();
        _host = await CdpHost.OnAsync(provider, _settings);
    }

    public EmailVendorWebhookTests()
    {
        var settings = _settings = Sources(_key);
        foreach (var (k, v) in new Dictionary<string, string?>
                 {
                     ["Cdp:Segments:buyers:Where"] = "performed \"Order Completed\" within 30d",
                     ["Cdp:Destinations:mc:Type"] = "Mailchimp",
                     ["Cdp:Destinations:mc:BaseUrl"] = _fake.Url,
                     ["Cdp:Destinations:mc:ApiKey"] = ApiKey,
                     ["Cdp:Destinations:mc:ListId"] = List,
                     ["Cdp:Destinations:mc:RetryBaseDelay"] = "00:00:00.010",
                     ["Cdp:Syncs:newsletter:Segment"] = "buyers",
                     ["Cdp:Syncs:newsletter:Destination"] = "mc",
                     ["Cdp:Syncs:newsletter:Enabled"] = "false",
                     ["Cdp:Syncs:newsletter:ConsentPurpose"] = "marketing",
                     ["Cdp:Syncs:newsletter:MaxRemovalShare"] = "1",
                 })
            settings[k] = v;
        _host = new CdpHost(settings);
    }

    public void Dispose()
    {
        _host.Dispose();
        _fake.Dispose();
        _key.Dispose();
    }

    private static JsonElement Samples(string file) => JsonDocument.Parse(TestData(file)).RootElement;

    [Fact]
    public async Task Mailchimp_answers_its_url_check_only_with_the_right_secret()
    {
        var client = _host.CreateClient();

        (await client.GetAsync("/v1/webhooks/mc/" + MailchimpSecret)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.GetAsync("/v1/webhooks/mc/wrong-secret-0123456789")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await client.GetAsync("/v1/webhooks/mc")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await client.GetAsync("/v1/webhooks/nobody/" + MailchimpSecret)).StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Mailchimps_documented_samples_are_stored_and_unsubscribe_and_cleaned_revoke_marketing()
    {
        var samples = Samples("mailchimp-samples.json");
        var client = _host.CreateClient();

        (await client.SendAsync(Mailchimp(samples.GetProperty("unsubscribe").GetString()!, "not-the-secret-0123456789"))).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        _host.Logged("mc").Should().BeEmpty();
        foreach (var s in samples.EnumerateObject())
        {
            var response = await client.SendAsync(Mailchimp(s.Value.GetString()!));
            response.StatusCode.Should().Be(HttpStatusCode.OK, s.Name + ": " + await response.Content.ReadAsStringAsync());
        }
        (await client.SendAsync(Mailchimp(samples.GetProperty("unsubscribe").GetString()!))).StatusCode.Should().Be(HttpStatusCode.OK, "a redelivery");

        var stored = _host.Logged("mc");
        stored.Select(e => e.GetProperty("type").GetString() == "identify" ? "identify" : e.Event()).Should().Equal(
            "Subscribed", "Unsubscribed", "identify", "Email Address Changed", "Email Address Cleaned", "Campaign Sent");
        var unsub = stored[1];
        unsub.GetProperty("context").GetProperty("traits").GetProperty("email").GetString().Should().Be("api+unsub@mailchimp.com");
        unsub.GetProperty("context").GetProperty("traits").GetProperty("first_name").GetString().Should().Be("Mailchimp");
        unsub.GetProperty("properties").GetProperty("campaign_id").GetString().Should().Be("cb398d21d2");
        unsub.GetProperty("properties").GetProperty("reason").GetString().Should().Be("manual");
        unsub.GetProperty("timestamp").GetString().Should().StartWith("2009-03-26T21:40:57");
        unsub.GetProperty("context").GetProperty("consent").GetProperty("categoryPreferences").GetProperty("marketing").GetBoolean().Should().BeFalse();
        stored[4].GetProperty("context").GetProperty("consent").GetProperty("categoryPreferences").GetProperty("marketing").GetBoolean().Should().BeFalse();
        stored[2].GetProperty("traits").GetProperty("last_name").GetString().Should().Be("API");
        stored[3].GetProperty("context").GetProperty("traits").GetProperty("email").GetString().Should().Be("api+new@mailchimp.com");
        stored[3].GetProperty("properties").GetProperty("old_email").GetString().Should().Be("api+old@mailchimp.com");
        stored.Where(e => e.TryGetProperty("context", out var c) && c.TryGetProperty("consent", out _)).Should().HaveCount(2, "only unsubscribe and cleaned revoke");
    }

    [Fact]
    public async Task Brevo_takes_its_basic_credentials_or_token_and_refuses_others()
    {
        var sample = Samples("brevo-samples.json").GetProperty("transactional_delivered").GetRawText();
        var client = _host.CreateClient();

        (await client.SendAsync(Brevo(sample, user: null))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await client.SendAsync(Brevo(sample, password: "brevo-password-0123456788"))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await client.SendAsync(Brevo(sample, user: "brevo2"))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        _host.Logged("brevo").Should().BeEmpty();
        (await client.SendAsync(Brevo(sample))).StatusCode.Should().Be(HttpStatusCode.OK);
        _host.Logged("brevo").Should().ContainSingle().Which.Event().Should().Be("Email Delivered");

        var bearer = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/brevo-token") { Content = new StringContent(sample, Encoding.UTF8, "application/json") };
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", BrevoToken);
        var wrongBearer = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/brevo-token") { Content = new StringContent(sample, Encoding.UTF8, "application/json") };
        wrongBearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", BrevoToken + "x");
        (await client.SendAsync(wrongBearer)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await client.SendAsync(bearer)).StatusCode.Should().Be(HttpStatusCode.OK);
        _host.Logged("brevo-token").Should().ContainSingle();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Brevos_documented_samples_are_stored_once_with_opt_outs_revoking_marketing(string provider)
    {
        await On(provider);
        var client = _host.CreateClient();
        var samples = Samples("brevo-samples.json").EnumerateObject().ToList();
        foreach (var s in samples)
            (await client.SendAsync(Brevo(s.Value.GetRawText()))).StatusCode.Should().Be(HttpStatusCode.OK, s.Name);
        foreach (var s in samples) (await client.SendAsync(Brevo(s.Value.GetRawText()))).StatusCode.Should().Be(HttpStatusCode.OK, "redelivered");

        var stored = _host.Logged("brevo");
        stored.Select(e => e.Event()).Should().Equal(
            "Email Delivered", "Email Opened", "Email Link Clicked", "Email Bounced", "Unsubscribed", "Unsubscribed", "Email Marked as Spam", "Added to List");
        stored[2].GetProperty("properties").GetProperty("link_url").GetString().Should().Be("https://www.example.com/booking");
        stored[3].GetProperty("properties").GetProperty("bounce_type").GetString().Should().Be("hard");
        stored[5].GetProperty("properties").GetProperty("campaign_name").GetString().Should().Be("My First Campaign");
        stored.Where(e => e.GetProperty("context").TryGetProperty("consent", out _)).Select(e => e.Event())
            .Should().Equal("Email Bounced", "Unsubscribed", "Unsubscribed", "Email Marked as Spam");
    }

    private static string Now(int minutes = 0) => DateTime.UtcNow.AddMinutes(minutes).ToString("O");

    private static string Buyer(string user, string email) =>
        $$"""{"type":"identify","userId":"{{user}}","traits":{"email":"{{email}}","first_name":"{{user}}","marketing_consent":true},"timestamp":"{{Now(-10)}}"}""";

    private static string Order(string user) =>
        $$"""{"type":"track","userId":"{{user}}","event":"Order Completed","properties":{"total":10},"timestamp":"{{Now(-9)}}"}""";

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Opt_outs_from_each_vendor_revoke_marketing_so_the_next_sync_does_not_add_those_people(string provider)
    {
        await On(provider);
        await _host.TrackingClient().SendBatch([
            Buyer("u-sg", "sg.person@clinic-mail.com"), Order("u-sg"),
            Buyer("u-mc", "mc.person@clinic-mail.com"), Order("u-mc"),
            Buyer("u-brevo", "brevo.person@clinic-mail.com"), Order("u-brevo"),
            Buyer("u-stays", "stays@clinic-mail.com"), Order("u-stays"),
        ]);
        var client = _host.CreateClient();
        var sendGrid = JsonNode.Parse(TestData("sendgrid-events.json"))!.AsArray().Single(e => (string?)e!["event"] == "unsubscribe")!;
        sendGrid["email"] = "sg.person@clinic-mail.com";
        sendGrid["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        (await client.SendAsync(SignedSendGrid(_key, new JsonArray(sendGrid.DeepClone()).ToJsonString()))).StatusCode.Should().Be(HttpStatusCode.OK);
        var mailchimp = Samples("mailchimp-samples.json").GetProperty("unsubscribe").GetString()!
            .Replace("api%2Bunsub%40mailchimp.com", "mc.person%40clinic-mail.com", StringComparison.Ordinal)
            .Replace("2009-03-26+21%3A40%3A57", Uri.EscapeDataString(DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss")), StringComparison.Ordinal);
        (await client.SendAsync(Mailchimp(mailchimp))).StatusCode.Should().Be(HttpStatusCode.OK);
        var brevo = JsonNode.Parse(Samples("brevo-samples.json").GetProperty("marketing_unsubscribe").GetRawText())!;
        brevo["email"] = "brevo.person@clinic-mail.com";
        brevo["ts_event"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        (await client.SendAsync(Brevo(brevo.ToJsonString()))).StatusCode.Should().Be(HttpStatusCode.OK);
        await _host.Processed();

        var run = await _host.Service<ISyncOperations>().RunAsync("newsletter", new SyncRunRequest("test"), CancellationToken.None);

        run.Status.Should().Be(SyncRunStatus.Succeeded, run.StoppedBecause + string.Join("; ", run.Errors));
        run.Counts.Members.Should().Be(4);
        run.Counts.Added.Should().Be(1);
        _fake.Tagged("newsletter").Should().BeEquivalentTo(["stays@clinic-mail.com"], "the three who opted out at a vendor are not added back");
        _fake.Upserted.Should().NotContain(e => e.Contains("person@clinic-mail.com"));
        var admin = _host.AdminClient();
        foreach (var (user, source) in new[] { ("u-sg", "sg"), ("u-mc", "mc"), ("u-brevo", "brevo") })
        {
            var marketing = (await admin.Profile("user_id:" + user))!.Value.GetProperty("consent").GetProperty("marketing");
            marketing.GetProperty("granted").GetBoolean().Should().BeFalse(user);
            marketing.GetProperty("via").GetString().Should().Be(source, "the consent history shows which vendor's webhook revoked it");
        }
    }
}
