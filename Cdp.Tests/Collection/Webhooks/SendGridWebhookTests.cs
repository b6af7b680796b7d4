using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Webhooks;
using Cdp.Tests.Support;
using static Cdp.Tests.Collection.Webhooks.WebhookTestKit;

namespace Cdp.Tests.Collection.Webhooks;

/// <summary>SendGrid's Event Webhook on the real host, signed with a P-256 key pair made in the test.</summary>
public sealed class SendGridWebhookTests : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly CdpHost _host;

    public SendGridWebhookTests() => _host = new CdpHost(Sources(_key));

    public void Dispose()
    {
        _host.Dispose();
        _key.Dispose();
    }

    [Fact]
    public async Task The_documented_sample_events_are_stored_as_email_events_on_the_person_with_sendgrids_ids()
    {
        // the sample's example@test.com is a placeholder Cdp's identity refuses as an identifier: a real-looking address instead
        await _host.TrackingClient().Send("identify", """{"userId":"u-example","traits":{"email":"Jane.Doe@Clinic-Mail.com"}}""");
        var body = TestData("sendgrid-events.json").Replace("example@test.com", "jane.doe@clinic-mail.com", StringComparison.Ordinal);

        var response = await _host.CreateClient().SendAsync(SignedSendGrid(_key, body));

        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var stored = _host.Logged("sg");
        stored.Select(e => e.Event()).Should().Equal(
            "Email Processed", "Email Deferred", "Email Delivered", "Email Opened", "Email Link Clicked", "Email Bounced", "Email Dropped",
            "Email Marked as Spam", "Unsubscribed", "Group Unsubscribed", "Group Resubscribed");
        stored.Select(e => e.GetProperty("messageId").GetString()).Should().Equal(
            JsonDocument.Parse(body).RootElement.EnumerateArray().Select(e => "sendgrid:" + e.GetProperty("sg_event_id").GetString()));
        var click = stored.Single(e => e.Event() == "Email Link Clicked");
        click.GetProperty("properties").GetProperty("link_url").GetString().Should().Be("http://www.sendgrid.com/");
        click.GetProperty("properties").GetProperty("email_id").GetString().Should().Be("sg_message_id");
        click.GetProperty("context").GetProperty("traits").GetProperty("email").GetString().Should().Be("jane.doe@clinic-mail.com");
        click.GetProperty("timestamp").GetString().Should().StartWith("2017-12-15T00:59:29");
        stored.Where(e => e.TryGetProperty("context", out var c) && c.TryGetProperty("consent", out _)).Select(e => e.Event())
            .Should().BeEquivalentTo(["Email Bounced", "Email Marked as Spam", "Unsubscribed", "Group Unsubscribed"], "the opt-outs revoke, nothing else does");

        await _host.Processed();
        var admin = _host.AdminClient();
        var profile = (await admin.Profile("user_id:u-example"))!.Value;
        profile.Identifiers().Should().Contain("email:jane.doe@clinic-mail.com", "the email resolved to the identified person:\n" + profile);
        var marketing = profile.GetProperty("consent").GetProperty("marketing");
        marketing.GetProperty("granted").GetBoolean().Should().BeFalse();
        marketing.GetProperty("via").GetString().Should().Be("sg", "the profile shows which source revoked it");
    }

    [Fact]
    public async Task Unsigned_changed_or_stale_deliveries_are_refused_with_4xx_and_store_nothing()
    {
        var body = Now(TestData("sendgrid-events.json"), "timestamp");
        var client = _host.CreateClient();

        var unsigned = await client.PostAsync("/v1/webhooks/sg", new StringContent(body, Encoding.UTF8, "application/json"));
        var changed = SignedSendGrid(_key, body);
        changed.Content = new StringContent(body.Replace("example@test.com", "examplf@test.com"), Encoding.UTF8, "application/json");
        var changedResponse = await client.SendAsync(changed);
        var stale = await client.SendAsync(SignedSendGrid(_key, body, DateTimeOffset.UtcNow.AddMinutes(-11)));
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forged = await client.SendAsync(SignedSendGrid(otherKey, body));

        unsigned.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        changedResponse.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        stale.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await stale.Content.ReadAsStringAsync()).Should().Contain("MaxSignatureAge");
        forged.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        _host.Logged("sg").Should().BeEmpty();
        (await _host.DeadLetters("sg")).Should().BeEmpty();
        (await client.SendAsync(SignedSendGrid(_key, body))).StatusCode.Should().Be(HttpStatusCode.OK, "the same body, rightly signed, is taken");
        _host.Logged("sg").Should().HaveCount(11);
    }

    [Fact]
    public async Task Events_of_an_erased_person_are_acknowledged_but_not_stored_as_on_v1()
    {
        await _host.TrackingClient().Send("identify", """{"userId":"u-gone","traits":{"email":"gone@clinic-mail.com"}}""");
        await _host.Processed();
        var admin = _host.AdminClient();
        (await admin.DeleteAsync("/api/privacy/profiles/" + await admin.ProfileId("user_id:u-gone"))).EnsureSuccessStatusCode();
        var body = """[{"email":"Gone@Clinic-Mail.com","event":"open","sg_event_id":"gone-1","timestamp":1700000000},{"email":"kept@clinic-mail.com","event":"open","sg_event_id":"kept-1","timestamp":1700000000}]""";

        var response = await _host.CreateClient().SendAsync(SignedSendGrid(_key, body));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        _host.Logged("sg").Select(e => e.GetProperty("messageId").GetString()).Should().Equal(["sendgrid:kept-1"], "the suppression check of the ingest path applies");
    }

    [Fact]
    public async Task A_redelivered_batch_is_stored_once()
    {
        var body = TestData("sendgrid-events.json");
        var client = _host.CreateClient();

        (await client.SendAsync(SignedSendGrid(_key, body))).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.SendAsync(SignedSendGrid(_key, body, DateTimeOffset.UtcNow.AddSeconds(5)))).StatusCode.Should().Be(HttpStatusCode.OK);

        _host.Logged("sg").Should().HaveCount(11);
    }

    [Fact]
    public async Task Unreadable_events_are_dead_letters_and_the_rest_of_the_delivery_is_stored()
    {
        var body = """[{"event":"open","sg_event_id":"no-email"},{"email":"a@example.com","event":7,"sg_event_id":"bad-type"},"text",{"email":"b@example.com","event":"open","sg_event_id":"ok","timestamp":"yesterday"},{"email":"c@example.com","event":"open","sg_event_id":"fine","timestamp":1700000000}]""";

        var response = await _host.CreateClient().SendAsync(SignedSendGrid(_key, body));
        var notJson = await _host.CreateClient().SendAsync(SignedSendGrid(_key, "{not json"));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        notJson.StatusCode.Should().Be(HttpStatusCode.OK, "a signed but unreadable body is kept as a dead letter, not bounced back for endless retries");
        _host.Logged("sg").Should().ContainSingle().Which.GetProperty("messageId").GetString().Should().Be("sendgrid:fine");
        var dead = await _host.DeadLetters("sg");
        dead.Should().HaveCount(5);
        dead.SelectMany(d => d.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()))
            .Should().BeEquivalentTo(["email", "event", "event", "timestamp", "body"]);
        dead.Should().Contain(d => d.GetProperty("raw").GetString() == "{not json");
    }

    [Fact]
    public void SendGrids_own_signed_test_vectors_verify_and_fail_on_a_changed_byte_or_an_old_timestamp()
    {
        var vectors = JsonDocument.Parse(TestData("sendgrid-signed-vectors.json")).RootElement.GetProperty("vectors");
        vectors.GetArrayLength().Should().Be(2);
        foreach (var v in vectors.EnumerateArray())
        {
            var key = SendGridWebhook.ImportKey(v.GetProperty("publicKey").GetString()!)!.Value;
            var body = Encoding.UTF8.GetBytes(v.GetProperty("payload").GetString()!);
            var (signature, timestamp) = (v.GetProperty("signature").GetString(), v.GetProperty("timestamp").GetString()!);
            var signedAt = DateTimeOffset.FromUnixTimeSeconds(long.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture));
            var age = TimeSpan.FromMinutes(10);

            SendGridWebhook.Verify(key, signature, timestamp, body, signedAt.AddSeconds(30), age).Should().BeNull(v.GetProperty("name").GetString());
            var changed = (byte[])body.Clone();
            changed[10] ^= 1;
            SendGridWebhook.Verify(key, signature, timestamp, changed, signedAt.AddSeconds(30), age).Should().Contain("does not match");
            SendGridWebhook.Verify(key, signature, timestamp, body, signedAt.AddMinutes(11), age).Should().Contain("MaxSignatureAge");
            SendGridWebhook.Verify(key, signature, (long.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                body, signedAt.AddSeconds(30), age).Should().Contain("does not match", "the timestamp is part of what is signed");
        }
    }
}
