using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Cdp.Modules.Activation.Configuration;

namespace Cdp.Modules.Activation.Destinations.Meta;

/// <summary>
/// Meta's Graph API answers most errors with HTTP 400 and {"error":{"message","type","code","error_subcode","fbtrace_id"}}.
/// Inside the destination's retry pipeline, this handler gives such an answer the status the shared machinery acts on:
/// <list type="bullet">
/// <item>rate limits (codes 4, 17, 32, 341, 613 and the business use case limits 80000-80014) become 429, with Retry-After
/// from X-Business-Use-Case-Usage's estimated_time_to_regain_access (minutes) when Meta names one: retried with backoff, or the
/// run stops saying until when Meta asked to wait;</item>
/// <item>an invalid or expired access token (code 190) becomes 401 and a permission error (10, 200-299) 403: the run stops
/// with a message saying what to do;</item>
/// <item>an error Meta marks is_transient becomes 503 (retried);</item>
/// <item>"object does not exist" (code 100, subcode 33: an audience deleted in Ads Manager) becomes 404.</item>
/// </list>
/// Every other error stays as Meta sent it (a 400 refuses the batch).
/// </summary>
internal sealed class MetaGraphErrors : DelegatingHandler
{
    /// <summary>Meta's rate-limit error codes (Graph API "Rate Limiting" and Marketing API business use case limits).</summary>
    public static bool IsRateLimit(long code) => code is 4 or 17 or 32 or 341 or 613 or (>= 80000 and <= 80014);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (response.IsSuccessStatusCode || (int)response.StatusCode >= 500) return response;
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        if (Read(await response.Content.ReadAsStringAsync(cancellationToken)) is not { } error) return response;
        if (IsRateLimit(error.Code))
        {
            response.StatusCode = HttpStatusCode.TooManyRequests;
            response.ReasonPhrase = $"(Meta rate limit, error {error.Code})";
            if (response.Headers.RetryAfter is null && RegainAccess(response) is { } wait) response.Headers.RetryAfter = new RetryConditionHeaderValue(wait);
        }
        else if (error.Code == 190)
        {
            response.StatusCode = HttpStatusCode.Unauthorized;
            response.ReasonPhrase = "(Meta error 190: the access token is invalid or expired; create a new system user token with ads_management and set the destination's AccessToken)";
        }
        else if (error.Code is 10 or (>= 200 and <= 299))
        {
            response.StatusCode = HttpStatusCode.Forbidden;
            response.ReasonPhrase = $"(Meta permission error {error.Code}: the system user needs the ad account assigned and the ads_management permission)";
        }
        else if (error.Code == 100 && error.Subcode == 33)
        {
            response.StatusCode = HttpStatusCode.NotFound;
            response.ReasonPhrase = "(Meta error 100/33: no such object)";
        }
        else if (error.Transient)
        {
            response.StatusCode = HttpStatusCode.ServiceUnavailable;
            response.ReasonPhrase = $"(Meta error {error.Code}, transient)";
        }
        return response;
    }

    internal sealed record GraphError(long Code, long Subcode, string Message, bool Transient);

    internal static GraphError? Read(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("error", out var e) || e.ValueKind != JsonValueKind.Object) return null;
            return new GraphError(Number(e, "code"), Number(e, "error_subcode"), JsonBodies.String(e, "message") ?? "",
                e.TryGetProperty("is_transient", out var t) && t.ValueKind == JsonValueKind.True);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static long Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && (v.ValueKind == JsonValueKind.Number ? v.TryGetInt64(out var n) : long.TryParse(v.GetString(), CultureInfo.InvariantCulture, out n)) ? n : 0;

    /// <summary>X-Business-Use-Case-Usage: {"&lt;business id&gt;":[{"type":...,"estimated_time_to_regain_access":&lt;minutes&gt;},...]}: the longest wait named.</summary>
    internal static TimeSpan? RegainAccess(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("X-Business-Use-Case-Usage", out var values)) return null;
        long minutes = 0;
        try
        {
            using var doc = JsonDocument.Parse(values.First());
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return null;
            foreach (var business in doc.RootElement.EnumerateObject())
                if (business.Value.ValueKind == JsonValueKind.Array)
                    foreach (var usage in business.Value.EnumerateArray())
                        if (usage.ValueKind == JsonValueKind.Object) minutes = Math.Max(minutes, Number(usage, "estimated_time_to_regain_access"));
        }
        catch (JsonException)
        {
            return null;
        }
        return minutes > 0 ? TimeSpan.FromMinutes(minutes) : null;
    }

    /// <summary>One Graph API call: {root}/{ApiVersion}/{path}, the access token as a Bearer header (never in a URL), a JSON body.</summary>
    public static Task<HttpResponseMessage> SendAsync(HttpClient client, DestinationSettings d, HttpMethod method, string path, string? json,
        CancellationToken cancellationToken) =>
        DestinationHttp.SendAsync(client, MetaAudienceSession.Vendor, () =>
        {
            var request = new HttpRequestMessage(method, $"{MetaAudienceSession.Root(d)}/{MetaAudienceRows.ApiVersion(d)}/{path}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", d.AccessToken);
            if (json is not null) request.Content = JsonBodies.Content(json);
            return request;
        }, cancellationToken);
}
