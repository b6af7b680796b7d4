using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.RateLimiting;
using Polly.Timeout;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>
/// One HttpClient per destination, each with its own resilience pipeline: a concurrency limit (all syncs of the destination
/// share it, so one failing destination never holds another's permits), retries of 429/5xx/timeouts with exponential backoff
/// and jitter or the vendor's reset header (Retry-After, X-RateLimit-Reset, x-sib-ratelimit-reset), and a timeout per attempt.
/// A vendor asking to wait longer than MaxRetryDelay is not retried early: the request fails at once and says until when the
/// vendor asked to wait. Webhook requests are signed again on every attempt (fresh webhook-timestamp and signature).
/// </summary>
[Service]
internal sealed class DestinationHttp(IOptions<ActivationOptions> options, TimeProvider clock) : IDisposable
{
    /// <summary>Set on a request whose answer asked for a wait longer than MaxRetryDelay: the wait asked for, and the limit.</summary>
    internal static readonly HttpRequestOptionsKey<(TimeSpan Wait, TimeSpan Max)> AskedToWait = new("cdp.asked-to-wait");

    private readonly ConcurrentDictionary<string, HttpClient> _clients = new(StringComparer.Ordinal);

    /// <summary>Counts requests per destination (attempts included): what tests and dry runs check.</summary>
    private readonly ConcurrentDictionary<string, long> _attempts = new(StringComparer.Ordinal);

    public long Attempts(string destination) => _attempts.GetValueOrDefault(destination);

    public HttpClient Client(string destination) => _clients.GetOrAdd(destination, name =>
    {
        var d = options.Value.Destinations[name];
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddConcurrencyLimiter(d.MaxConcurrency, queueLimit: 10_000);
        // MaxAttempts = 1 means no retry at all: Polly's retry strategy refuses 0 retries (MaxRetryAttempts is 1 or more).
        if (d.MaxAttempts > 1)
            builder.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = d.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = d.RetryBaseDelay,
                MaxDelay = d.MaxRetryDelay,
                ShouldRetryAfterHeader = false, // the DelayGenerator below reads Retry-After and the vendors' own headers
                ShouldHandle = args => ValueTask.FromResult((HttpClientResiliencePredicates.IsTransient(args.Outcome) || Google.GoogleAdsAuthHandler.IsRetryable(d, args.Outcome.Result))
                                                      && !AsksTooLongAWait(args.Outcome.Result, d.MaxRetryDelay)),
                DelayGenerator = args => ValueTask.FromResult(ResetDelay(args.Outcome.Result, d.MaxRetryDelay)),
            });
        var pipeline = builder.AddTimeout(d.Timeout).Build();
        HttpMessageHandler inner = new CountingHandler(() => _attempts.AddOrUpdate(name, 1, (_, n) => n + 1))
        {
            InnerHandler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AutomaticDecompression = DecompressionMethods.All },
        };
        // Inside the retry pipeline: each attempt is signed with its own timestamp (Standard Webhooks receivers refuse old ones).
        if (d.Kind == DestinationType.Webhook) inner = new WebhookSigningHandler(WebhookSession.Key(d.Secret), clock) { InnerHandler = inner };
        // Inside the retry pipeline: Meta's error codes in a 400 (rate limits, token) become the statuses the pipeline acts on.
        if (d.Kind == DestinationType.MetaCustomAudience) inner = new Meta.MetaGraphErrors { InnerHandler = inner };
        // Google Ads: developer token and an OAuth access token on every attempt, refreshed once on a 401.
        if (d.Kind == DestinationType.GoogleCustomerMatch) inner = new Google.GoogleAdsAuthHandler(name, d, clock) { InnerHandler = inner };
        return new HttpClient(new ResilienceHandler(pipeline) { InnerHandler = inner }) { Timeout = Timeout.InfiniteTimeSpan };
    });

    /// <summary>The vendor asks for a wait longer than <paramref name="max"/>: not retried early; the request is marked with <see cref="AskedToWait"/>.</summary>
    private static bool AsksTooLongAWait(HttpResponseMessage? response, TimeSpan max)
    {
        if (ResetDelay(response, TimeSpan.MaxValue) is not { } wait || wait <= max) return false;
        response!.RequestMessage?.Options.Set(AskedToWait, (wait, max));
        return true;
    }

    /// <summary>The wait a vendor asks for: Retry-After (seconds or a date), X-RateLimit-Reset (epoch seconds or seconds), x-sib-ratelimit-reset (seconds).</summary>
    internal static TimeSpan? ResetDelay(HttpResponseMessage? response, TimeSpan max)
    {
        if (response is null) return null;
        TimeSpan? wait = null;
        if (response.Headers.RetryAfter is { } ra)
            wait = ra.Delta ?? (ra.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        else if (Header(response, "X-RateLimit-Reset") is { } reset)
            wait = reset > 1_000_000_000 ? DateTimeOffset.FromUnixTimeSeconds((long)reset) - DateTimeOffset.UtcNow : TimeSpan.FromSeconds(reset);
        else if (Header(response, "x-sib-ratelimit-reset") is { } sib)
            wait = TimeSpan.FromSeconds(sib);
        if (wait is null) return null;
        if (wait < TimeSpan.Zero) wait = TimeSpan.Zero;
        return wait > max ? max : wait;
    }

    private static double? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) && double.TryParse(values.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>Sends and sorts the answer: 2xx returned; 401/403 and exhausted retries stop the run; other 4xx refuse the batch.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, string vendor, Func<HttpRequestMessage> request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request(), cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException or RateLimiterRejectedException
                                   || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new DestinationUnavailableException($"{vendor} did not answer after its retries: {ex.GetType().Name}: {ex.Message}", ex);
        }
        if (response.IsSuccessStatusCode) return response;
        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (body.Length > 500) body = body[..500] + "...";
        response.Dispose();
        var what = $"{vendor} answered {status} {response.ReasonPhrase}: {body}";
        if (response.RequestMessage?.Options.TryGetValue(AskedToWait, out var asked) == true)
        {
            var until = DateTimeOffset.UtcNow + asked.Wait;
            throw new DestinationUnavailableException(
                $"{what} (the vendor asked to wait {asked.Wait:g}, until {until:yyyy-MM-dd HH:mm:ss}Z, longer than MaxRetryDelay {asked.Max:g}: not retried early, the run stops here)",
                retryNotBefore: until);
        }
        if (status is 401 or 403) throw new DestinationUnavailableException($"{what} (credentials refused: the run stops)");
        if (status is 408 or 429 || status >= 500) throw new DestinationUnavailableException($"{what} (still failing after its retries)");
        throw new BatchRefusedException(what, status);
    }

    public void Dispose()
    {
        foreach (var c in _clients.Values) c.Dispose();
    }

    private sealed class CountingHandler(Action count) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            count();
            return base.SendAsync(request, cancellationToken);
        }
    }
}
