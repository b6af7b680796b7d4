using System.Security.Cryptography;

namespace Cdp.Modules.Collection.Webhooks;

/// <summary>What a source under Cdp:Sources is: a Segment sender with a write key, or a vendor's webhook.</summary>
internal enum SourceKind
{
    /// <summary>SDKs and servers speaking the Segment Tracking API on /v1 with a write key.</summary>
    Segment,
    /// <summary>SendGrid's Event Webhook (JSON array, Signed Event Webhook: ECDSA P-256).</summary>
    SendGrid,
    /// <summary>Mailchimp's audience webhooks (form-encoded, secret in the URL path).</summary>
    Mailchimp,
    /// <summary>Brevo's transactional and marketing webhooks (JSON, basic auth or a bearer token).</summary>
    Brevo,
    /// <summary>Any JSON or form webhook, read by a configured mapping (optional HMAC signature).</summary>
    Mapped,
}

/// <summary>Mapped sources: where each part of an event is read. A value starting with "$" is a path; any other value is a constant.</summary>
internal sealed class WebhookMapping
{
    /// <summary>Path to the array of items in a JSON body (e.g. $.events); empty: a top-level array is a batch, an object is one item.</summary>
    public string Items { get; set; } = "";

    /// <summary>The Segment call type: track (default), identify, page, screen or group; a constant or a path.</summary>
    public string Type { get; set; } = "track";

    /// <summary>The event name of a track call: a constant ("Call Completed") or a path ($.event).</summary>
    public string Event { get; set; } = "";

    /// <summary>Path to the vendor's own id of the item: becomes the messageId so redeliveries are stored once (empty: a hash of the item).</summary>
    public string MessageId { get; set; } = "";

    /// <summary>Path to the event time (ISO-8601 or Unix seconds/milliseconds); empty or missing: the time Cdp received it.</summary>
    public string Timestamp { get; set; } = "";

    /// <summary>Identifier type (user_id, email, phone, anonymous_id or a configured one) → path. At least one must be found in each item.</summary>
    public Dictionary<string, string> Identifiers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Trait name → path (traits of the person: identify traits, else context.traits).</summary>
    public Dictionary<string, string> Traits { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Property name → path (properties of the event).</summary>
    public Dictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Mapped sources: an HMAC of the request the sender signs with a shared secret.</summary>
internal sealed class WebhookSignature
{
    /// <summary>The header holding the signature, e.g. X-Signature; empty: no signature check.</summary>
    public string Header { get; set; } = "";

    /// <summary>HMACSHA256 (default), HMACSHA1 or HMACSHA512.</summary>
    public string Algorithm { get; set; } = "HMACSHA256";

    public string Secret { get; set; } = "";

    /// <summary>hex (default) or base64.</summary>
    public string Encoding { get; set; } = "hex";

    /// <summary>Text before the signature in the header, e.g. "sha256=" (GitHub style).</summary>
    public string Prefix { get; set; } = "";

    /// <summary>The header holding the signing time (Unix seconds); empty: no timestamp, no replay window.</summary>
    public string TimestampHeader { get; set; } = "";

    /// <summary>What is signed: {body} (default) or a template with {timestamp}, e.g. "{timestamp}.{body}".</summary>
    public string SignedContent { get; set; } = "{body}";

    public HashAlgorithmName? HashName => Algorithm.Trim().ToUpperInvariant() switch
    {
        "HMACSHA256" or "SHA256" => HashAlgorithmName.SHA256,
        "HMACSHA1" or "SHA1" => HashAlgorithmName.SHA1,
        "HMACSHA512" or "SHA512" => HashAlgorithmName.SHA512,
        _ => null,
    };
}

/// <summary>Start-up checks of a webhook source's settings (the host refuses to start naming the setting).</summary>
internal static class WebhookOptionsRules
{
    /// <summary>Shortest secret accepted in a URL, a token or an HMAC key: guessing 16 random characters is out of reach.</summary>
    public const int MinimumSecretLength = 16;

    public static IEnumerable<(string Field, string Message)> Check(SourceOptions o)
    {
        if (o.MaxSignatureAge <= TimeSpan.Zero || o.MaxSignatureAge > TimeSpan.FromDays(1))
            yield return ("MaxSignatureAge", "must be between 00:00:01 and 1.00:00:00 (older signed requests are refused as replays)");
        if (o.OptOutPurpose.Length > 0 && string.IsNullOrWhiteSpace(o.OptOutPurpose))
            yield return ("OptOutPurpose", "must name a consent purpose (e.g. marketing) or be empty (opt-outs recorded as events only)");
        switch (o.ParsedKind)
        {
            case SourceKind.SendGrid:
                if (SendGridWebhook.ImportKey(o.PublicKey) is null)
                    yield return ("PublicKey", "must be the Signed Event Webhook's verification key as SendGrid shows it (base64 DER of an ECDSA P-256 public key, starting MFkw...)");
                break;
            case SourceKind.Mailchimp:
                if (o.Secret.Length < MinimumSecretLength || !UrlSafe(o.Secret))
                    yield return ("Secret", $"must be at least {MinimumSecretLength} characters of A-Z, a-z, 0-9, - and _ (it is the last segment of the webhook URL)");
                break;
            case SourceKind.Brevo:
                var basic = o.Username.Length > 0 || o.Password.Length > 0;
                if (basic && (o.Username.Length == 0 || o.Password.Length < MinimumSecretLength))
                    yield return ("Password", $"basic authentication needs a Username and a Password of at least {MinimumSecretLength} characters");
                if (o.Token.Length > 0 && o.Token.Length < MinimumSecretLength)
                    yield return ("Token", $"must be at least {MinimumSecretLength} characters");
                if (!basic && o.Token.Length == 0)
                    yield return ("Token", "Brevo sources need Username and Password (basic authentication) or a Token (bearer): without them anyone could post opt-outs");
                break;
            case SourceKind.Mapped:
                var m = o.Mapping;
                var signed = o.Signature.Header.Length > 0;
                if (o.Secret.Length > 0 && (o.Secret.Length < MinimumSecretLength || !UrlSafe(o.Secret)))
                    yield return ("Secret", $"must be at least {MinimumSecretLength} characters of A-Z, a-z, 0-9, - and _ (it is the last segment of the webhook URL)");
                if (!signed && o.Secret.Length == 0)
                    yield return ("Secret", "Mapped sources need a Secret (in the URL path) or a Signature (HMAC header): without them anyone could post events");
                if (signed)
                {
                    if (o.Signature.HashName is null) yield return ("Signature:Algorithm", "must be HMACSHA256, HMACSHA1 or HMACSHA512");
                    if (o.Signature.Secret.Length < MinimumSecretLength) yield return ("Signature:Secret", $"must be at least {MinimumSecretLength} characters");
                    if (o.Signature.Encoding is not ("hex" or "base64")) yield return ("Signature:Encoding", "must be hex or base64");
                    if (!o.Signature.SignedContent.Contains("{body}", StringComparison.Ordinal))
                        yield return ("Signature:SignedContent", "must contain {body}, e.g. {body} or {timestamp}.{body}");
                    if (o.Signature.SignedContent.Contains("{timestamp}", StringComparison.Ordinal) && o.Signature.TimestampHeader.Length == 0)
                        yield return ("Signature:TimestampHeader", "SignedContent uses {timestamp}: name the header that carries it");
                }
                foreach (var (field, message) in MappedWebhook.CheckMapping(m)) yield return ("Mapping:" + field, message);
                break;
        }
    }

    private static bool UrlSafe(string s) => s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
