using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Shared.Modules;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cdp.Modules.Collection.Webhooks;

/// <summary>
/// POST /v1/webhooks/{source} (and /v1/webhooks/{source}/{secret} for senders that authenticate by URL): a vendor's
/// delivery, authenticated by the source's kind, read into Segment calls and handed to the same ingest path as /v1/batch
/// (validation, dedup by messageId, suppression, the group commit). Answers: 200 after the commit; 401/403 for a missing or
/// bad signature or secret (the vendor does not retry a forgery); 429 or 503 with Retry-After so the vendor retries; items
/// that cannot be read are dead letters (still 200: redelivering them would not help).
/// </summary>
[Service]
internal sealed class WebhookEndpoints(SourceRegistry sources, EventNormaliser normaliser, TrackingEndpoints ingest, RejectedRequests rejectedRequests, TimeProvider clock)
{
    /// <summary>
    /// Request body limit: above /v1's 500 KB because SendGrid posts batches of up to 768 KB; each event is still held to
    /// 32 KB and a delivery to 2,500 events, as on /v1.
    /// </summary>
    public const int MaxBodyBytes = 1024 * 1024;

    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        foreach (var path in new[] { "/v1/webhooks/{source}", "/v1/webhooks/{source}/{secret}" })
        {
            endpoints.MapPost(path, (HttpContext ctx, string source, string? secret, WebhookEndpoints api) => api.HandleAsync(ctx, source, secret))
                .WithTags("Webhooks").WithSummary("A vendor's webhook delivery (SendGrid, Mailchimp, Brevo or a mapped webhook)");
            endpoints.MapGet(path, (HttpContext ctx, string source, string? secret, WebhookEndpoints api) => api.ValidateUrlAsync(ctx, source, secret))
                .WithTags("Webhooks").WithSummary("Mailchimp's URL check when a webhook is saved: 200 when the URL (and its secret) is right");
        }
    }

    /// <summary>Mailchimp (and mapped senders that probe) GET the URL before using it: 200 with no side effect when it is right.</summary>
    private async Task ValidateUrlAsync(HttpContext ctx, string name, string? secret)
    {
        if (Find(name) is not { } source) { await NotFound(ctx, name); return; }
        var why = source.Kind is SourceKind.Mailchimp or SourceKind.Mapped ? UrlSecretRefused(source, secret) : $"source '{name}' is a {source.Kind} webhook: it takes POSTs only";
        if (why is not null) { await Problem(ctx, 403, "Forbidden", why); return; }
        ctx.Response.StatusCode = 200;
    }

    private Source? Find(string name) => sources.ByName(name) is { Kind: not SourceKind.Segment } s ? s : null;

    public async Task HandleAsync(HttpContext ctx, string name, string? secret)
    {
        try
        {
            await HandleRequestAsync(ctx, name, secret);
        }
        finally
        {
            if (ctx.Response.StatusCode >= 400) rejectedRequests.Add();
        }
    }

    private async Task HandleRequestAsync(HttpContext ctx, string name, string? secret)
    {
        var receivedAt = clock.GetUtcNow();
        if (Find(name) is not { } source) { await NotFound(ctx, name); return; }
        var o = source.Webhook!;
        if (ctx.Request.ContentLength > MaxBodyBytes) { await Problem(ctx, 413, "Payload too large", $"the request body is {ctx.Request.ContentLength} bytes; the limit is 1 MB per webhook delivery"); return; }
        var (buffer, length) = await TrackingEndpoints.ReadBodyAsync(ctx.Request, MaxBodyBytes);
        try
        {
            if (length > MaxBodyBytes) { await Problem(ctx, 413, "Payload too large", "the request body exceeds the limit of 1 MB per webhook delivery"); return; }
            var body = buffer.AsSpan(0, length);
            if (Authenticate(ctx.Request, source, secret, body, receivedAt) is { } refused)
            {
                await Problem(ctx, refused.Status, refused.Title, refused.Detail);
                return;
            }
            if (source.RateLimit is { } limiter)
            {
                using var lease = limiter.AttemptAcquire();
                if (!lease.IsAcquired)
                {
                    ctx.Response.Headers.RetryAfter = "1";
                    await Problem(ctx, 429, "Too many requests", $"source '{source.Name}' is limited to its MaxRequestsPerSecond; nothing was stored, retry after the Retry-After delay");
                    return;
                }
            }
            var items = Read(source, o, body, ctx.Request.ContentType);
            if (items.Count > Limits.MaxEventsPerBatch)
            {
                await Problem(ctx, 413, "Too many events", $"the delivery holds {items.Count} events; the limit is {Limits.MaxEventsPerBatch:N0} events per request");
                return;
            }
            var prepared = Prepare(items, source, receivedAt);
            await ingest.SubmitAsync(ctx, prepared, source, source.Strict);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed record Refusal(int Status, string Title, string Detail);

    /// <summary>Null when the sender proved itself for this source's kind.</summary>
    private static Refusal? Authenticate(HttpRequest request, Source source, string? secret, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        var o = source.Webhook!;
        switch (source.Kind)
        {
            case SourceKind.SendGrid:
                var key = SendGridWebhook.ImportKey(o.PublicKey)!.Value;
                return SendGridWebhook.Verify(key, request.Headers[SendGridWebhook.SignatureHeader], request.Headers[SendGridWebhook.TimestampHeader], body, now, o.MaxSignatureAge)
                    is { } why ? new Refusal(string.IsNullOrEmpty(request.Headers[SendGridWebhook.SignatureHeader]) ? 401 : 403, "Signature refused", why + "; nothing was stored") : null;
            case SourceKind.Mailchimp:
                return UrlSecretRefused(source, secret) is { } bad ? new Refusal(403, "Forbidden", bad) : null;
            case SourceKind.Brevo:
                return BrevoAuthRefused(request, o) is { } brevo ? new Refusal(401, "Unauthorized", brevo) : null;
            case SourceKind.Mapped:
                if (o.Secret.Length > 0 && UrlSecretRefused(source, secret) is { } wrong) return new Refusal(403, "Forbidden", wrong);
                if (o.Signature.Header.Length > 0 && HmacRefused(request, o.Signature, body, now, o.MaxSignatureAge) is { } hmac)
                    return new Refusal(string.IsNullOrEmpty(request.Headers[o.Signature.Header]) ? 401 : 403, "Signature refused", hmac + "; nothing was stored");
                return null;
            default:
                return new Refusal(404, "Not a webhook source", source.Name);
        }
    }

    private static string? UrlSecretRefused(Source source, string? secret)
    {
        var expected = source.Webhook!.Secret;
        if (expected.Length == 0) return secret is null ? null : $"source '{source.Name}' has no Secret: its URL is /v1/webhooks/{source.Name}";
        if (secret is null) return $"the URL lacks the source's secret: /v1/webhooks/{source.Name}/<Secret>; nothing was stored";
        return Same(secret, expected) ? null : "the secret in the URL is not the source's Secret; nothing was stored";
    }

    private static string? BrevoAuthRefused(HttpRequest request, SourceOptions o)
    {
        var header = request.Headers.Authorization.ToString();
        if (o.Token.Length > 0 && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && Same(header[7..].Trim(), o.Token)) return null;
        if (o.Username.Length > 0 && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                var colon = pair.IndexOf(':');
                // both compared in full (no early exit on the user name) so the time says nothing about which was wrong
                if (colon >= 0 && Same(pair[..colon], o.Username) & Same(pair[(colon + 1)..], o.Password)) return null;
            }
            catch (FormatException)
            {
            }
        }
        return header.Length == 0
            ? "Brevo must send the webhook's credentials: set basic authentication or a token on the webhook (see README); nothing was stored"
            : "the credentials in the Authorization header are not the source's; nothing was stored";
    }

    private static string? HmacRefused(HttpRequest request, WebhookSignature s, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan maxAge)
    {
        var given = request.Headers[s.Header].ToString();
        if (given.Length == 0) return $"the request has no {s.Header} header";
        if (s.Prefix.Length > 0)
        {
            if (!given.StartsWith(s.Prefix, StringComparison.Ordinal)) return $"{s.Header} does not start with {s.Prefix}";
            given = given[s.Prefix.Length..];
        }
        var timestamp = "";
        if (s.TimestampHeader.Length > 0)
        {
            timestamp = request.Headers[s.TimestampHeader].ToString();
            if (!long.TryParse(timestamp, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds > 253402300799)
                return $"{s.TimestampHeader} is not a Unix time in seconds";
            if ((now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > maxAge)
                return $"the signature's timestamp is more than MaxSignatureAge ({maxAge}) from now: a replay or a wrong clock";
        }
        byte[] expected;
        byte[] signed;
        var template = s.SignedContent;
        var at = template.IndexOf("{body}", StringComparison.Ordinal);
        var before = Encoding.UTF8.GetBytes(template[..at].Replace("{timestamp}", timestamp, StringComparison.Ordinal));
        var after = Encoding.UTF8.GetBytes(template[(at + "{body}".Length)..].Replace("{timestamp}", timestamp, StringComparison.Ordinal));
        signed = new byte[before.Length + body.Length + after.Length];
        before.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(before.Length));
        after.CopyTo(signed, before.Length + body.Length);
        var secret = Encoding.UTF8.GetBytes(s.Secret);
        var hash = s.HashName!.Value;
        expected = hash == HashAlgorithmName.SHA1 ? HMACSHA1.HashData(secret, signed)
            : hash == HashAlgorithmName.SHA512 ? HMACSHA512.HashData(secret, signed) : HMACSHA256.HashData(secret, signed);
        byte[] actual;
        try { actual = s.Encoding == "base64" ? Convert.FromBase64String(given.Trim()) : Convert.FromHexString(given.Trim()); }
        catch (FormatException) { return $"{s.Header} is not {s.Encoding}"; }
        return CryptographicOperations.FixedTimeEquals(actual, expected) ? null : $"the {s.Header} signature does not match the body for the configured secret";
    }

    /// <summary>Constant-time comparison of two secrets (a hash of each, so their lengths leak nothing either).</summary>
    private static bool Same(string given, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));

    /// <summary>The delivery as items: unreadable bodies (not UTF-8, not JSON, not form-encoded) are one dead letter.</summary>
    private static List<WebhookItem> Read(Source source, SourceOptions o, ReadOnlySpan<byte> body, string? contentType)
    {
        if (!Utf8.IsValid(body))
            return [WebhookItem.Unreadable(Encoding.UTF8.GetString(body), "body", $"the body is not valid UTF-8 (first bad byte at offset {TrackingEndpoints.FirstInvalidUtf8(body)})")];
        var optOuts = OptOuts(source.Kind, o);
        var purpose = o.OptOutPurpose.Trim() is { Length: > 0 } p ? p : null;
        if (source.Kind == SourceKind.Mailchimp) return [MailchimpWebhook.Read(body, optOuts, purpose)];
        var isForm = contentType is not null && contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
        JsonDocument doc;
        try
        {
            if (isForm && source.Kind == SourceKind.Mapped) return MappedWebhook.Read(MappedWebhook.FormAsJson(body), o.Mapping);
            doc = JsonDocument.Parse(body.ToArray(), ParseOptions);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException or InvalidDataException)
        {
            return [WebhookItem.Unreadable(Encoding.UTF8.GetString(body), "body", "the body is not valid JSON" + (isForm ? " or form data" : "") + ": " + ex.Message)];
        }
        using (doc)
        {
            try
            {
                return source.Kind switch
                {
                    SourceKind.SendGrid => SendGridWebhook.Read(doc.RootElement, optOuts, purpose),
                    SourceKind.Brevo => BrevoWebhook.Read(doc.RootElement, optOuts, purpose),
                    _ => MappedWebhook.Read(doc.RootElement, o.Mapping),
                };
            }
            catch (InvalidOperationException ex) // a string escape that is not valid Unicode, e.g. a lone "\ud800"
            {
                return [WebhookItem.Unreadable(Encoding.UTF8.GetString(body), "body", "the body holds a string that is not valid Unicode: " + ex.Message)];
            }
        }
    }

    private static HashSet<string> OptOuts(SourceKind kind, SourceOptions o) => new(o.OptOutEvents.Count > 0 ? o.OptOutEvents : kind switch
    {
        SourceKind.SendGrid => SendGridWebhook.DefaultOptOuts,
        SourceKind.Mailchimp => MailchimpWebhook.DefaultOptOuts,
        SourceKind.Brevo => BrevoWebhook.DefaultOptOuts,
        _ => [],
    }, StringComparer.Ordinal);

    /// <summary>Each read item through the ordinary normaliser (the same checks as /v1/batch); failures are dead letters holding the vendor's item.</summary>
    private TrackingEndpoints.Prepared Prepare(List<WebhookItem> items, Source source, DateTimeOffset receivedAt)
    {
        var accepted = new List<AcceptedEvent>(items.Count);
        List<RejectedEvent>? rejected = null;
        List<EventError>? errors = null;
        for (var index = 0; index < items.Count; index++)
        {
            var item = items[index];
            IReadOnlyList<EventError> failures;
            if (item.Call is { } call)
            {
                try
                {
                    using var doc = JsonDocument.Parse(call.ToJson());
                    if (normaliser.TryNormalise(doc.RootElement, index, null, default, receivedAt, source.Name, out var ok, out failures))
                    {
                        accepted.Add(ok!);
                        continue;
                    }
                }
                catch (Exception ex) when (ex is InvalidOperationException or JsonException)
                {
                    failures = [new EventError(index, "event", "the event holds a string that is not valid Unicode: " + ex.Message)];
                }
            }
            else
            {
                failures = [new EventError(index, item.Field, item.Error!)];
            }
            (errors ??= []).AddRange(failures);
            (rejected ??= []).Add(new RejectedEvent(source.Name, index, failures, item.Raw));
        }
        return new TrackingEndpoints.Prepared(null, items.Count, accepted, rejected, errors);
    }

    private static Task NotFound(HttpContext ctx, string name) =>
        Problem(ctx, 404, "Unknown webhook source", $"no webhook source '{name}' under Cdp:Sources (a source with Kind SendGrid, Mailchimp, Brevo or Mapped)");

    private static Task Problem(HttpContext ctx, int status, string title, string detail) =>
        Results.Problem(title: title, detail: detail, statusCode: status).ExecuteAsync(ctx);
}
