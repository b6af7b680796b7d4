using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Collection.Contracts;
using Cdp.Tests.Support;

namespace Cdp.Tests.Collection.Webhooks;

/// <summary>Webhook sources on the real host: a SendGrid key pair made here, Mailchimp's URL secret, Brevo's credentials.</summary>
internal static class WebhookTestKit
{
    public const string MailchimpSecret = "mc-secret-0123456789abcdef";
    public const string BrevoUser = "brevo";
    public const string BrevoPassword = "brevo-password-0123456789";
    public const string BrevoToken = "brevo-token-0123456789abcdef";

    public static string TestData(string file) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "webhooks", file));

    public static Dictionary<string, string?> Sources(ECDsa sendGridKey) => new()
    {
        ["Cdp:Sources:sg:Kind"] = "SendGrid",
        ["Cdp:Sources:sg:PublicKey"] = Convert.ToBase64String(sendGridKey.ExportSubjectPublicKeyInfo()),
        ["Cdp:Sources:mc:Kind"] = "Mailchimp",
        ["Cdp:Sources:mc:Secret"] = MailchimpSecret,
        ["Cdp:Sources:brevo:Kind"] = "Brevo",
        ["Cdp:Sources:brevo:Username"] = BrevoUser,
        ["Cdp:Sources:brevo:Password"] = BrevoPassword,
        ["Cdp:Sources:brevo-token:Kind"] = "Brevo",
        ["Cdp:Sources:brevo-token:Token"] = BrevoToken,
    };

    /// <summary>SendGrid's signing: ECDSA P-256 / SHA-256 over the timestamp's text followed by the body, base64 DER.</summary>
    public static HttpRequestMessage SignedSendGrid(ECDsa key, string body, DateTimeOffset? signedAt = null, string path = "/v1/webhooks/sg")
    {
        var timestamp = (signedAt ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var signature = key.SignData(Encoding.UTF8.GetBytes(timestamp + body), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Twilio-Email-Event-Webhook-Signature", Convert.ToBase64String(signature));
        request.Headers.Add("X-Twilio-Email-Event-Webhook-Timestamp", timestamp);
        return request;
    }

    public static HttpRequestMessage Mailchimp(string form, string secret = MailchimpSecret) =>
        new(HttpMethod.Post, "/v1/webhooks/mc/" + secret) { Content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded") };

    public static HttpRequestMessage Brevo(string json, string? user = BrevoUser, string? password = BrevoPassword)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/brevo") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (user is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));
        return request;
    }

    /// <summary>A sample with its event time moved to now (consent: the latest statement wins, so a 2017 sample would lose to today's grant).</summary>
    public static string Now(string json, string field)
    {
        var node = JsonNode.Parse(json)!;
        foreach (var o in node is JsonArray a ? a.Select(x => x!.AsObject()) : [node.AsObject()]) o[field] = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return node.ToJsonString();
    }

    public static IReadOnlyList<JsonElement> Logged(this CdpHost host, string source) =>
        host.Service<IEventLog>().ReadAfter(0, 100_000).Where(e => e.Source == source).Select(e => JsonDocument.Parse(e.Json).RootElement.Clone()).ToList();

    public static async Task<IReadOnlyList<JsonElement>> DeadLetters(this CdpHost host, string source)
    {
        var page = JsonDocument.Parse(await host.AdminClient().GetStringAsync("/api/collection/dead-letters?limit=500")).RootElement;
        return page.GetProperty("items").EnumerateArray().Where(d => d.GetProperty("source").GetString() == source).Select(d => d.Clone()).ToList();
    }

    public static string Event(this JsonElement e) => e.GetProperty("event").GetString()!;
}
