using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cdp.Modules.Collection.Webhooks;

/// <summary>
/// SendGrid's Event Webhook: a JSON array of events (processed, delivered, open, click, bounce, dropped, deferred,
/// spamreport, unsubscribe, group_unsubscribe, group_resubscribe), signed with the Signed Event Webhook: an ECDSA P-256
/// signature (base64 DER, header X-Twilio-Email-Event-Webhook-Signature) over the timestamp header's text followed by the
/// raw body, verified with the public key shown in SendGrid's Mail Settings.
/// </summary>
internal static class SendGridWebhook
{
    public const string SignatureHeader = "X-Twilio-Email-Event-Webhook-Signature";
    public const string TimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp";

    /// <summary>Opt-outs by default: the person unsubscribed, reported spam, left an unsubscribe group, or the address bounced hard.</summary>
    public static readonly string[] DefaultOptOuts = ["unsubscribe", "spamreport", "group_unsubscribe", "bounce"];

    /// <summary>SendGrid's event types as Segment's email event names (Segment's Email spec where it has one).</summary>
    private static readonly Dictionary<string, string> Names = new(StringComparer.Ordinal)
    {
        ["processed"] = "Email Processed",
        ["delivered"] = "Email Delivered",
        ["open"] = "Email Opened",
        ["click"] = "Email Link Clicked",
        ["bounce"] = "Email Bounced",
        ["dropped"] = "Email Dropped",
        ["deferred"] = "Email Deferred",
        ["spamreport"] = "Email Marked as Spam",
        ["unsubscribe"] = "Unsubscribed",
        ["group_unsubscribe"] = "Group Unsubscribed",
        ["group_resubscribe"] = "Group Resubscribed",
    };

    /// <summary>The key's parameters (null when the text is not a base64 DER P-256 public key).</summary>
    public static ECParameters? ImportKey(string base64Der)
    {
        if (string.IsNullOrWhiteSpace(base64Der)) return null;
        try
        {
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportSubjectPublicKeyInfo(Convert.FromBase64String(base64Der.Trim()), out _);
            var p = ecdsa.ExportParameters(false);
            return p.Curve.Oid.Value == ECCurve.NamedCurves.nistP256.Oid.Value || p.Curve.Oid.FriendlyName is "nistP256" or "ECDSA_P256" ? p : null;
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Null when the request is signed by the key's owner within the allowed age; else why it is refused.</summary>
    public static string? Verify(ECParameters key, string? signature, string? timestamp, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan maxAge)
    {
        if (string.IsNullOrEmpty(signature) || string.IsNullOrEmpty(timestamp))
            return $"the request is not signed: turn on the Signed Event Webhook in SendGrid ({SignatureHeader} and {TimestampHeader} headers)";
        if (!long.TryParse(timestamp, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            || seconds > 253402300799)
            return $"{TimestampHeader} is not a Unix time in seconds";
        var signedAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
        if ((now - signedAt).Duration() > maxAge)
            return $"the signature's timestamp {signedAt:O} is more than MaxSignatureAge ({maxAge}) from now: a replay or a wrong clock";
        byte[] der;
        try { der = Convert.FromBase64String(signature); }
        catch (FormatException) { return $"{SignatureHeader} is not base64"; }
        var stamp = Encoding.UTF8.GetBytes(timestamp);
        var signed = new byte[stamp.Length + body.Length];
        stamp.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(stamp.Length));
        using var ecdsa = ECDsa.Create(key);
        try
        {
            return ecdsa.VerifyData(signed, der, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)
                ? null : "the signature does not match the body and timestamp for the configured PublicKey";
        }
        catch (CryptographicException)
        {
            return "the signature is not an ECDSA signature";
        }
    }

    public static List<WebhookItem> Read(JsonElement root, IReadOnlySet<string> optOuts, string? purpose)
    {
        var items = new List<WebhookItem>();
        if (root.ValueKind != JsonValueKind.Array)
        {
            items.Add(WebhookItem.Unreadable(root.GetRawText(), "body", "SendGrid posts a JSON array of events; this body is a " + root.ValueKind.ToString().ToLowerInvariant()));
            return items;
        }
        foreach (var e in root.EnumerateArray()) items.Add(ReadOne(e, optOuts, purpose));
        return items;
    }

    private static WebhookItem ReadOne(JsonElement e, IReadOnlySet<string> optOuts, string? purpose)
    {
        var raw = e.GetRawText();
        if (e.ValueKind != JsonValueKind.Object) return WebhookItem.Unreadable(raw, "event", "each SendGrid event must be a JSON object");
        if (!e.TryGetProperty("event", out var ev) || ev.ValueKind != JsonValueKind.String || ev.GetString() is not { Length: > 0 } type)
            return WebhookItem.Unreadable(raw, "event", "the SendGrid event has no \"event\" type (a string)");
        if (!e.TryGetProperty("email", out var em) || em.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(em.GetString()))
            return WebhookItem.Unreadable(raw, "email", "the SendGrid event has no \"email\" (a string): it cannot be tied to a person");
        var id = WebhookCall.Text(e, "sg_event_id");
        var call = new WebhookCall
        {
            Event = Names.GetValueOrDefault(type) ?? "SendGrid " + type,
            MessageId = id is { Length: > 0 } ? WebhookCall.MessageIdOf("sendgrid:", id) : "sendgrid:" + WebhookCall.Hash(Encoding.UTF8.GetBytes(raw)),
            Timestamp = e.TryGetProperty("timestamp", out var ts) ? WebhookCall.Copy(ts) : null,
        };
        call.Traits["email"] = em.GetString();
        // Segment's email properties first, then every other field SendGrid sent (custom args included) as it came
        if (WebhookCall.Text(e, "sg_message_id") is { } mid) call.Properties["email_id"] = mid;
        if (WebhookCall.Text(e, "marketing_campaign_id") is { } cid) call.Properties["campaign_id"] = cid;
        if (WebhookCall.Text(e, "marketing_campaign_name") is { } cname) call.Properties["campaign_name"] = cname;
        if (type == "click" && WebhookCall.Text(e, "url") is { } url) call.Properties["link_url"] = url;
        if (type == "bounce") call.Properties["bounce_type"] = WebhookCall.Text(e, "type") == "blocked" ? "soft" : "hard";
        foreach (var p in e.EnumerateObject())
        {
            if (p.Name is "email" or "event" or "timestamp" || call.Properties.ContainsKey(p.Name)) continue;
            call.Properties[p.Name] = WebhookCall.Copy(p.Value);
        }
        call.Properties["vendor"] = "sendgrid";
        call.Properties["vendor_event"] = type;
        // a bounce of type "blocked" is temporary (SendGrid's soft bounce): only a hard bounce is an opt-out
        var hard = type != "bounce" || WebhookCall.Text(e, "type") != "blocked";
        if (purpose is not null && hard && optOuts.Contains(type)) call.RevokesPurpose = purpose;
        call.AnonymousFromEmail();
        return new WebhookItem(call, raw);
    }
}
