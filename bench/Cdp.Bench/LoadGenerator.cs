using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Cdp.Bench;

/// <summary>Closed-loop HTTP load: N workers each send a request, wait for the answer, send the next.</summary>
internal static class LoadGenerator
{
    public sealed record Result(long Requests, long Failures, double Seconds, double P50Ms, double P99Ms)
    {
        public double RequestsPerSecond => Requests / Seconds;
    }

    public static Task<Result> RunAsync(
        Uri baseAddress, string path, string? basicUser, int concurrency, TimeSpan duration, Func<long, byte[]> body) =>
        RunAsync(baseAddress, basicUser, concurrency, duration, (client, n) => Send(client, path, body(n)));

    /// <summary>POSTs whose headers depend on the body (a signed webhook): <paramref name="request"/> gives both for request n.</summary>
    public static Task<Result> RunWithHeadersAsync(
        Uri baseAddress, string path, int concurrency, TimeSpan duration, Func<long, (byte[] Body, (string Name, string Value)[] Headers)> request) =>
        RunAsync(baseAddress, null, concurrency, duration, async (client, n) =>
        {
            var (body, headers) = request(n);
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var post = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
            foreach (var (name, value) in headers) post.Headers.Add(name, value);
            using var response = await client.SendAsync(post);
            await response.Content.CopyToAsync(Stream.Null);
            return response.StatusCode == HttpStatusCode.OK;
        });

    /// <summary>
    /// A browser on another origin: each step is the CORS preflight (OPTIONS with Origin and Access-Control-Request-*),
    /// then, unless <paramref name="preflightOnly"/>, the POST with its Origin header; one result per step (a pair).
    /// </summary>
    public static Task<Result> RunBrowserAsync(
        Uri baseAddress, string path, string basicUser, string origin, int concurrency, TimeSpan duration, Func<long, byte[]> body, bool preflightOnly) =>
        RunAsync(baseAddress, basicUser, concurrency, duration, async (client, n) =>
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, path);
            preflight.Headers.Add("Origin", origin);
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
            using (var answer = await client.SendAsync(preflight))
            {
                if (answer.StatusCode != HttpStatusCode.NoContent) return false;
            }
            if (preflightOnly) return true;
            using var content = new ByteArrayContent(body(n));
            content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            using var post = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
            post.Headers.Add("Origin", origin);
            using var response = await client.SendAsync(post);
            await response.Content.CopyToAsync(Stream.Null);
            return response.StatusCode == HttpStatusCode.OK;
        });

    private static async Task<Result> RunAsync(
        Uri baseAddress, string? basicUser, int concurrency, TimeSpan duration, Func<HttpClient, long, Task<bool>> step)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (basicUser is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basicUser + ":")));

        // warm-up: connections, JIT, LiteDB pages
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(i => step(client, -1 - i)));

        long counter = 0, failures = 0;
        var latencies = new List<double>[concurrency];
        var stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = new List<double>(100_000);
            while (Stopwatch.GetTimestamp() < stopAt)
            {
                var n = Interlocked.Increment(ref counter);
                var t0 = Stopwatch.GetTimestamp();
                var ok = await step(client, n);
                mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                if (!ok) Interlocked.Increment(ref failures);
            }
        })).ToList();
        await Task.WhenAll(workers);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new Result(all.Length - failures, failures, seconds, Percentile(all, 0.50), Percentile(all, 0.99));
    }

    private static async Task<bool> Send(HttpClient client, string path, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync(path, content);
        await response.Content.CopyToAsync(Stream.Null);
        return response.StatusCode == HttpStatusCode.OK;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
}
