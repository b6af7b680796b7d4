using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>How a vendor answered a privacy call for one destination.</summary>
/// <param name="Status">deleted, not found (already gone), acknowledged.</param>
internal sealed record VendorOutcome(string Status, string Detail);

/// <summary>
/// The vendors' own privacy calls, beside the sync sessions (same HttpClient and resilience pipeline per destination, so a 429
/// or 5xx is retried with backoff and the vendor's reset header before a call fails):
/// <list type="bullet">
/// <item>erasure: Mailchimp POST /3.0/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent; Brevo
/// DELETE /v3/contacts/{email}?identifierType=email_id; SendGrid DELETE /v3/marketing/contacts?ids=... (ids looked up with
/// POST /v3/marketing/contacts/search/emails); the webhook a signed "members.erased" message. A 404 means the vendor has no
/// such contact: already gone, which acknowledges the erasure.</item>
/// <item>opt-out: Mailchimp PATCH /3.0/lists/{list_id}/members/{subscriber_hash} {"status":"unsubscribed"}; Brevo
/// PUT /v3/contacts/{email}?identifierType=email_id {"emailBlacklisted":true}; SendGrid POST /v3/asm/suppressions/global
/// {"recipient_emails":[...]} (the global unsubscribe).</item>
/// </list>
/// </summary>
[Service]
internal sealed class VendorPrivacyCalls(DestinationHttp http, Meta.MetaAudienceErasure meta)
{
    /// <summary>SendGrid's search by email takes at most 100 addresses; its contact delete takes at most 100 ids per call.</summary>
    private const int SendGridPage = 100;

    public const string Deleted = "deleted", Gone = "not found at the vendor (already gone)", Acknowledged = "acknowledged";

    /// <summary>
    /// Erases the addresses (and, for the webhook, the profile ids) at one destination. Returns the outcome once the vendor
    /// acknowledged every address; throws (DestinationUnavailableException, BatchRefusedException) when it did not: the caller retries.
    /// </summary>
    public async Task<VendorOutcome> EraseAsync(string name, DestinationSettings d, IReadOnlyList<string> keys, IReadOnlyList<string> profileIds,
        CancellationToken cancellationToken)
    {
        var client = http.Client(name);
        switch (d.Kind)
        {
            case DestinationType.Mailchimp:
            {
                int deleted = 0, gone = 0;
                foreach (var key in keys)
                {
                    if (await AcknowledgedAsync(client, d, HttpMethod.Post,
                            $"/3.0/lists/{Uri.EscapeDataString(d.ListId)}/members/{MailchimpSession.SubscriberHash(key)}/actions/delete-permanent", null, cancellationToken))
                        deleted++;
                    else gone++;
                }
                return Outcome(deleted, gone);
            }
            case DestinationType.Brevo:
            {
                int deleted = 0, gone = 0;
                foreach (var key in keys)
                {
                    if (await AcknowledgedAsync(client, d, HttpMethod.Delete, $"/v3/contacts/{Uri.EscapeDataString(key)}?identifierType=email_id", null, cancellationToken))
                        deleted++;
                    else gone++;
                }
                return Outcome(deleted, gone);
            }
            case DestinationType.SendGrid:
            {
                var ids = await SendGridIdsAsync(client, d, keys, cancellationToken);
                foreach (var page in ids.Chunk(SendGridPage))
                    await AcknowledgedAsync(client, d, HttpMethod.Delete, $"/v3/marketing/contacts?ids={string.Join(",", page.Select(Uri.EscapeDataString))}", null, cancellationToken);
                return ids.Count > 0
                    ? new VendorOutcome(Deleted, string.Create(CultureInfo.InvariantCulture, $"{ids.Count} contact(s) deleted (SendGrid deletes asynchronously: the job was accepted)"))
                    : new VendorOutcome(Gone, "no contact with the address");
            }
            case DestinationType.Webhook:
            {
                await PostErasedAsync(client, name, d, keys, profileIds, cancellationToken);
                return new VendorOutcome(Acknowledged, "members.erased delivered");
            }
            case DestinationType.MetaCustomAudience:
                return await meta.EraseAsync(name, d, keys, cancellationToken);
            case DestinationType.GoogleCustomerMatch:
                return await Google.CustomerMatchErasure.EraseAsync(client, d, keys, cancellationToken);
            default:
                throw new InvalidOperationException($"{d.Type} has no vendor erasure call");
        }
    }

    private static VendorOutcome Outcome(int deleted, int gone) => deleted > 0
        ? new VendorOutcome(Deleted, string.Create(CultureInfo.InvariantCulture, $"{deleted} contact(s) deleted permanently{(gone > 0 ? $", {gone} already gone" : "")}"))
        : new VendorOutcome(Gone, "the vendor had no such contact");

    /// <summary>
    /// Unsubscribes opted-out addresses at an email destination. Returns the addresses the vendor refused (by key);
    /// a 404 (no such contact) is no refusal: there is nobody left to send to.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> UnsubscribeAsync(string name, DestinationSettings d, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var client = http.Client(name);
        var refused = new Dictionary<string, string>(StringComparer.Ordinal);
        if (keys.Count == 0) return refused;
        switch (d.Kind)
        {
            case DestinationType.Mailchimp:
                foreach (var key in keys)
                {
                    try
                    {
                        await AcknowledgedAsync(client, d, HttpMethod.Patch, $"/3.0/lists/{Uri.EscapeDataString(d.ListId)}/members/{MailchimpSession.SubscriberHash(key)}",
                            JsonBodies.Write(w => { w.WriteStartObject(); w.WriteString("status", "unsubscribed"); w.WriteEndObject(); }), cancellationToken);
                    }
                    catch (BatchRefusedException ex) { refused[key] = "unsubscribe: " + ex.Message; }
                }
                break;
            case DestinationType.Brevo:
                foreach (var key in keys)
                {
                    try
                    {
                        await AcknowledgedAsync(client, d, HttpMethod.Put, $"/v3/contacts/{Uri.EscapeDataString(key)}?identifierType=email_id",
                            JsonBodies.Write(w => { w.WriteStartObject(); w.WriteBoolean("emailBlacklisted", true); w.WriteEndObject(); }), cancellationToken);
                    }
                    catch (BatchRefusedException ex) { refused[key] = "unsubscribe: " + ex.Message; }
                }
                break;
            case DestinationType.SendGrid:
                foreach (var page in keys.Chunk(SendGridPage))
                {
                    try
                    {
                        await AcknowledgedAsync(client, d, HttpMethod.Post, "/v3/asm/suppressions/global",
                            JsonBodies.Write(w => { w.WriteStartObject(); JsonBodies.Strings(w, "recipient_emails", page); w.WriteEndObject(); }), cancellationToken);
                    }
                    catch (BatchRefusedException ex)
                    {
                        foreach (var key in page) refused[key] = "unsubscribe: " + ex.Message;
                    }
                }
                break;
        }
        return refused;
    }

    public static bool Unsubscribes(DestinationSettings d) => SettingNames.NeedsEmail(d.Kind);

    /// <summary>POST /v3/marketing/contacts/search/emails, 100 at a time; a 404 means none of them is a contact.</summary>
    private async Task<List<string>> SendGridIdsAsync(HttpClient client, DestinationSettings d, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        foreach (var page in keys.Chunk(SendGridPage))
        {
            var body = JsonBodies.Write(w => { w.WriteStartObject(); JsonBodies.Strings(w, "emails", page); w.WriteEndObject(); });
            HttpResponseMessage response;
            try
            {
                response = await SendAsync(client, d, HttpMethod.Post, "/v3/marketing/contacts/search/emails", body, cancellationToken);
            }
            catch (BatchRefusedException ex) when (ex.NotFound)
            {
                continue;
            }
            var found = await JsonBodies.ReadAsync(response, cancellationToken);
            if (found.ValueKind == JsonValueKind.Object && found.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object)
                foreach (var r in result.EnumerateObject())
                    if (r.Value.ValueKind == JsonValueKind.Object && r.Value.TryGetProperty("contact", out var contact) && JsonBodies.String(contact, "id") is { } id)
                        ids.Add(id);
        }
        return ids;
    }

    private async Task PostErasedAsync(HttpClient client, string name, DestinationSettings d, IReadOnlyList<string> keys, IReadOnlyList<string> profileIds,
        CancellationToken cancellationToken)
    {
        var body = JsonBodies.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "members.erased");
            w.WriteString("destination", name);
            JsonBodies.Strings(w, "identifiers", keys);
            JsonBodies.Strings(w, "profileIds", profileIds);
            w.WriteEndObject();
        });
        // One webhook-id per message (kept across this call's retries); webhook-timestamp and webhook-signature are set per
        // attempt by the destination client's WebhookSigningHandler.
        var id = WebhookSession.NewMessageId();
        (await DestinationHttp.SendAsync(client, "Webhook", () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, d.BaseUrl) { Content = JsonBodies.Content(body) };
            request.Headers.Add("webhook-id", id);
            return request;
        }, cancellationToken)).Dispose();
    }

    /// <summary>True when the vendor acknowledged (2xx), false when it answered 404 (no such contact); other failures throw.</summary>
    private static async Task<bool> AcknowledgedAsync(HttpClient client, DestinationSettings d, HttpMethod method, string path, string? json, CancellationToken cancellationToken)
    {
        try
        {
            (await SendAsync(client, d, method, path, json, cancellationToken)).Dispose();
            return true;
        }
        catch (BatchRefusedException ex) when (ex.NotFound)
        {
            return false;
        }
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, DestinationSettings d, HttpMethod method, string path, string? json, CancellationToken cancellationToken) =>
        DestinationHttp.SendAsync(client, d.Kind.ToString()!, () =>
        {
            var request = new HttpRequestMessage(method, VendorApi.Root(d) + path);
            VendorApi.Authorize(request, d);
            if (json is not null) request.Content = JsonBodies.Content(json);
            return request;
        }, cancellationToken);
}
