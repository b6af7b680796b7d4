using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cdp.Modules.Activation.Configuration;

namespace Cdp.Modules.Activation.Destinations.Google;

/// <summary>
/// The Google Ads API's headers on every attempt of every request of a GoogleCustomerMatch destination (it sits inside the
/// destination client's retry pipeline, like the webhook signer): developer-token, login-customer-id (when set) and
/// Authorization: Bearer with an OAuth access token. The token comes from Google's token endpoint (POST TokenUrl,
/// grant_type=refresh_token with the client id and secret), is cached until <see cref="ExpiryMargin"/> before its expires_in,
/// and is refreshed once when the API answers 401 (a token revoked or expired early); a second 401 goes back to the caller,
/// which stops the run ("credentials refused"). The token endpoint refusing the refresh token or the client (400/401) stops
/// the run with Google's error code and what to do; its 429/5xx and network failures are retried like any attempt.
/// A 429 whose wait Google gives only in its body (quotaErrorDetails.retryDelay) gets it as Retry-After for the retry pipeline.
/// </summary>
internal sealed partial class GoogleAdsAuthHandler(string destination, DestinationSettings d, TimeProvider clock) : DelegatingHandler
{
    /// <summary>A cached token is replaced this long before it expires, so that no request leaves with a token about to lapse.</summary>
    public static readonly TimeSpan ExpiryMargin = TimeSpan.FromMinutes(2);

    private readonly HttpClient _tokenClient = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = d.Timeout };
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _token;
    private DateTimeOffset _expires;

    /// <summary>Google answers ABORTED (409: CONCURRENT_MODIFICATION, another job changing the same list) for calls worth retrying after a backoff.</summary>
    public static bool IsRetryable(DestinationSettings d, HttpResponseMessage? response) =>
        d.Kind == DestinationType.GoogleCustomerMatch && response?.StatusCode == HttpStatusCode.Conflict;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await TokenAsync(stale: null, cancellationToken);
        Authorize(request, token);
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            response.Dispose();
            Authorize(request, await TokenAsync(stale: token, cancellationToken));
            response = await base.SendAsync(request, cancellationToken);
        }
        if (response.StatusCode == HttpStatusCode.TooManyRequests && response.Headers.RetryAfter is null)
            await RetryDelayAsRetryAfterAsync(response, cancellationToken);
        return response;
    }

    /// <summary>
    /// Google names the wait of a RESOURCE_EXHAUSTED answer in its body (GoogleAdsError details.quotaErrorDetails.retryDelay,
    /// a protobuf Duration such as "30s"), not in a header: it becomes the response's Retry-After, so that the destination's
    /// retry pipeline waits for it like for any vendor (and stops the run when it is longer than MaxRetryDelay).
    /// </summary>
    private static async Task RetryDelayAsRetryAfterAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (RetryDelay().Match(body) is { Success: true } m
            && double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and < 86_400)
            response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(Math.Ceiling(seconds)));
    }

    [GeneratedRegex("\"retryDelay\"\\s*:\\s*\"([0-9]+(?:\\.[0-9]+)?)s\"")]
    private static partial Regex RetryDelay();

    private void Authorize(HttpRequestMessage request, string token)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Remove("developer-token");
        request.Headers.Add("developer-token", d.DeveloperToken);
        request.Headers.Remove("login-customer-id");
        if (d.LoginCustomerId.Length > 0) request.Headers.Add("login-customer-id", GoogleCustomerMatchSettings.Digits(d.LoginCustomerId));
    }

    /// <summary>The cached token, or a new one when there is none, it is about to expire, or it is <paramref name="stale"/> (refused with a 401).</summary>
    private async Task<string> TokenAsync(string? stale, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_token is not null && _token != stale && clock.GetUtcNow() < _expires - ExpiryMargin) return _token;
            using var form = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token", ["client_id"] = d.ClientId, ["client_secret"] = d.ClientSecret, ["refresh_token"] = d.RefreshToken,
            });
            using var response = await _tokenClient.PostAsync(d.TokenUrl, form, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            var status = (int)response.StatusCode;
            if (status == 429 || status >= 500)
                throw new HttpRequestException($"Google's OAuth token endpoint answered {status}", null, response.StatusCode); // retried like the attempt
            JsonElement answer = default;
            try { answer = JsonDocument.Parse(body.Length == 0 ? "{}" : body).RootElement.Clone(); }
            catch (JsonException) { }
            if (!response.IsSuccessStatusCode)
            {
                var error = JsonBodies.String(answer, "error") ?? "?";
                var description = JsonBodies.String(answer, "error_description");
                throw new DestinationUnavailableException(
                    $"Google's OAuth token endpoint refused the credentials ({status} {error}{(description is null ? "" : ": " + description)}): " +
                    (error == "invalid_grant"
                        ? $"the refresh token is expired or revoked; create a new one (README, Google Ads Customer Match) and set Cdp:Destinations:{destination}:RefreshToken"
                        : $"check Cdp:Destinations:{destination}:ClientId and ClientSecret") + " (credentials refused: the run stops)");
            }
            _token = JsonBodies.String(answer, "access_token") is { Length: > 0 } t ? t
                : throw new DestinationUnavailableException("Google's OAuth token endpoint answered without an access_token (the run stops)");
            var seconds = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var s) ? s
                : int.TryParse(JsonBodies.String(answer, "expires_in"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s2) ? s2 : 3600;
            _expires = clock.GetUtcNow() + TimeSpan.FromSeconds(Math.Max(0, seconds));
            return _token;
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _tokenClient.Dispose();
            _gate.Dispose();
        }
        base.Dispose(disposing);
    }
}
