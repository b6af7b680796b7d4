using System.Text;
using System.Text.Json;

namespace Cdp.Modules.Collection.Webhooks;

/// <summary>
/// Brevo's webhooks, transactional (event = delivered, opened, unique_opened, click, hard_bounce, soft_bounce, spam,
/// unsubscribed, blocked, invalid_email, deferred, request, error, ...) and marketing (event = delivered, opened, click,
/// hard_bounce, soft_bounce, spam, unsubscribe, list_addition, ...): one JSON object per event, or an array when batched.
/// Brevo authenticates with HTTP Basic credentials or a bearer token set on the webhook.
/// </summary>
internal static class BrevoWebhook
{
    /// <summary>Opt-outs by default: unsubscribes (both spellings Brevo uses), spam complaints and hard bounces.</summary>
    public static readonly string[] DefaultOptOuts = ["unsubscribed", "unsubscribe", "spam", "hard_bounce"];

    private static readonly Dictionary<string, string> Names = new(StringComparer.Ordinal)
    {
        ["request"] = "Email Sent",
        ["sent"] = "Email Sent",
        ["delivered"] = "Email Delivered",
        ["opened"] = "Email Opened",
        ["unique_opened"] = "Email Opened",
        ["proxy_open"] = "Email Opened",
        ["unique_proxy_open"] = "Email Opened",
        ["click"] = "Email Link Clicked",
        ["hard_bounce"] = "Email Bounced",
        ["soft_bounce"] = "Email Bounced",
        ["spam"] = "Email Marked as Spam",
        ["unsubscribed"] = "Unsubscribed",
        ["unsubscribe"] = "Unsubscribed",
        ["blocked"] = "Email Blocked",
        ["invalid_email"] = "Email Invalid",
        ["deferred"] = "Email Deferred",
        ["error"] = "Email Error",
        ["list_addition"] = "Added to List",
    };

    public static List<WebhookItem> Read(JsonElement root, IReadOnlySet<string> optOuts, string? purpose)
    {
        if (root.ValueKind == JsonValueKind.Object) return [ReadOne(root, optOuts, purpose)];
        if (root.ValueKind == JsonValueKind.Array) return root.EnumerateArray().Select(e => ReadOne(e, optOuts, purpose)).ToList();
        return [WebhookItem.Unreadable(root.GetRawText(), "body", "Brevo posts a JSON object (or an array of them); this body is a " + root.ValueKind.ToString().ToLowerInvariant())];
    }

    private static WebhookItem ReadOne(JsonElement e, IReadOnlySet<string> optOuts, string? purpose)
    {
        var raw = e.GetRawText();
        if (e.ValueKind != JsonValueKind.Object) return WebhookItem.Unreadable(raw, "event", "each Brevo event must be a JSON object");
        if (WebhookCall.Text(e, "event") is not { Length: > 0 } type || e.GetProperty("event").ValueKind != JsonValueKind.String)
            return WebhookItem.Unreadable(raw, "event", "the Brevo event has no \"event\" type (a string)");
        if (!e.TryGetProperty("email", out var em) || em.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(em.GetString()))
            return WebhookItem.Unreadable(raw, "email", "the Brevo event has no \"email\" (a string): it cannot be tied to a person");
        // Brevo sends no id per event (message-id is the email's): the item's bytes identify a redelivery
        var call = new WebhookCall { Event = Names.GetValueOrDefault(type) ?? "Brevo " + type, MessageId = "brevo:" + WebhookCall.Hash(Encoding.UTF8.GetBytes(raw)) };
        // ts_event: the event's Unix seconds (ts_epoch: milliseconds); "date" is Brevo's local time without a zone, not used
        if (e.TryGetProperty("ts_event", out var ts) && ts.ValueKind == JsonValueKind.Number) call.Timestamp = WebhookCall.Copy(ts);
        else if (e.TryGetProperty("ts_epoch", out var ms) && ms.ValueKind == JsonValueKind.Number) call.Timestamp = WebhookCall.Copy(ms);
        call.Traits["email"] = em.GetString();
        if (WebhookCall.Text(e, "message-id") is { } mid) call.Properties["email_id"] = mid;
        if (WebhookCall.Text(e, "camp_id") is { } cid) call.Properties["campaign_id"] = cid;
        if (WebhookCall.Text(e, "campaign name") is { } cname) call.Properties["campaign_name"] = cname;
        if (WebhookCall.Text(e, "subject") is { } subject) call.Properties["email_subject"] = subject;
        if ((WebhookCall.Text(e, "link") ?? WebhookCall.Text(e, "URL")) is { } link) call.Properties["link_url"] = link;
        if (type is "hard_bounce" or "soft_bounce") call.Properties["bounce_type"] = type == "hard_bounce" ? "hard" : "soft";
        foreach (var p in e.EnumerateObject())
        {
            if (p.Name is "email" or "event" || call.Properties.ContainsKey(p.Name)) continue;
            call.Properties[p.Name] = WebhookCall.Copy(p.Value);
        }
        call.Properties["vendor"] = "brevo";
        call.Properties["vendor_event"] = type;
        if (purpose is not null && optOuts.Contains(type)) call.RevokesPurpose = purpose;
        call.AnonymousFromEmail();
        return new WebhookItem(call, raw);
    }
}
