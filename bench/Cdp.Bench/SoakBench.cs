using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Cdp.Host;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Profiles.Contracts;

namespace Cdp.Bench;

/// <summary>
/// Soak: sustained mixed /v1 traffic (track, identify, page, batches of 20) for minutes (CDP_SOAK_SECONDS, default 120;
/// --quick 20 s). Every event carries a messageId naming its request and position; after the run the event log is read
/// back and each acknowledged event is looked up: lost = acknowledged - found (must be 0). Memory: peak RSS against the
/// RSS after warm-up, and the last quarter's peak against the second's (flat when near 1; the load generator runs in the
/// same process). Stability: the rate of the last quarter against the first.
/// </summary>
public sealed class SoakBench : IBenchScenario
{
    private const string WriteKey = "bench-soak-write-key";
    private const int Workers = 32;
    private const int BatchItems = 20;

    public string Name => "Soak";

    public async Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("CDP_SOAK_SECONDS"), out var s) ? s : context.Quick ? 20 : 120;
        var builder = CdpApp.CreateBuilder([
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            $"--Cdp:Storage:Path={Path.Combine(context.WorkFolder, "cdp.db")}",
            $"--Cdp:Sources:bench:WriteKey={WriteKey}",
            // a smaller dedup bound than the default 5M, so a soak of minutes reaches it and shows memory stays flat past it
            $"--Cdp:Collection:DedupMaxEntries={Environment.GetEnvironmentVariable("CDP_SOAK_DEDUP_MAX") ?? "5000000"}",
        ]);
        builder.Logging.ClearProviders();
        await using var app = CdpApp.Build(builder);
        await app.StartAsync();
        // CDP_SOAK_PAUSE_PROCESSOR=1: collection alone, to tell the log's own behaviour over time from the processor's share
        if (Environment.GetEnvironmentVariable("CDP_SOAK_PAUSE_PROCESSOR") == "1")
            await app.Services.GetRequiredService<IProfileProcessor>().PauseAsync(CancellationToken.None);
        var baseAddress = new Uri(app.Urls.First());

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = Workers, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(WriteKey + ":")));
        for (var i = 0; i < Workers; i++) await Send(client, -1 - i); // warm-up (ids below zero are not counted)

        var self = Process.GetCurrentProcess();
        self.Refresh();
        var baselineRss = self.WorkingSet64;
        long peakRss = baselineRss, counter = 0, rejected = 0, failed = 0;
        var acked = new List<long>[Workers];
        var eventsAcked = new long[Workers];
        var quarter = new long[4];
        var quarterPeakRss = new long[4];
        var started = Stopwatch.GetTimestamp();
        var duration = TimeSpan.FromSeconds(seconds);
        using var stop = new CancellationTokenSource(duration);
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                self.Refresh();
                peakRss = Math.Max(peakRss, self.WorkingSet64);
                var q = (int)Math.Min(3, Stopwatch.GetElapsedTime(started).TotalSeconds / seconds * 4);
                quarterPeakRss[q] = Math.Max(quarterPeakRss[q], self.WorkingSet64);
                try { await Task.Delay(250, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var mine = acked[w] = new List<long>(1 << 16);
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref counter);
                var status = await Send(client, n);
                if (status == HttpStatusCode.OK)
                {
                    mine.Add(n);
                    var events = EventsOf(n);
                    eventsAcked[w] += events;
                    var q = (int)Math.Min(3, Stopwatch.GetElapsedTime(started).TotalSeconds / seconds * 4);
                    Interlocked.Add(ref quarter[q], events);
                }
                else if (status == HttpStatusCode.TooManyRequests) Interlocked.Increment(ref rejected);
                else Interlocked.Increment(ref failed);
            }
        })).ToList();
        await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await sampler;

        // every acknowledged event must be in the log: read it back and look each one up
        var log = app.Services.GetRequiredService<IEventLog>();
        var found = new HashSet<long>();
        for (long after = 0; ;)
        {
            var page = log.ReadAfter(after, 20_000);
            if (page.Count == 0) break;
            foreach (var e in page)
                if (e.MessageId.StartsWith("soak-", StringComparison.Ordinal) && ParseId(e.MessageId) is { } id) found.Add(id);
            after = page[^1].Sequence;
        }
        long verified = 0, expected = 0;
        foreach (var n in acked.SelectMany(a => a))
            for (var k = 0; k < EventsOf(n); k++)
            {
                expected++;
                if (found.Contains(n * 64 + k)) verified++;
            }
        var lost = expected - verified;
        var lag = Math.Max(0, log.LastSequence - app.Services.GetRequiredService<IProfileProcessor>().Status.Checkpoint);
        var writer = app.Services.GetServices<IHostedService>().OfType<Cdp.Modules.Collection.EventLog.EventLogWriter>().Single();
        var (dedupEntries, dedupEvicted) = (writer.DedupEntries, writer.DedupEvictedEarly);
        await app.StopAsync();

        var mb = 1024.0 * 1024.0;
        return
        [
            new("soak: duration", elapsed, "s"),
            new("soak: events acknowledged", expected, "events"),
            new("soak: acknowledged events/s", expected / elapsed, "events/s"),
            new("soak: events verified in the log", verified, "events", CeilingName: "acknowledged", Ceiling: expected, RatioTarget: 1.0),
            new("soak: events lost", lost, "events", Target: 0, LowerIsBetter: true),
            new("soak: requests refused 429 / failed", rejected + failed, "requests"),
            new("soak: rate, last quarter", quarter[3] / (elapsed / 4), "events/s", CeilingName: "first quarter", Ceiling: quarter[0] / (elapsed / 4), RatioTarget: 0.7),
            new("soak: peak RSS", peakRss / mb, "MB", CeilingName: "RSS after warm-up", Ceiling: baselineRss / mb),
            new("soak: peak RSS, last quarter", quarterPeakRss[3] / mb, "MB", CeilingName: "peak RSS, second quarter", Ceiling: quarterPeakRss[1] / mb),
            new("soak: processor lag at the end", lag, "events"),
            new("soak: dedup index entries at the end", dedupEntries, "entries"),
            new("soak: dedup entries evicted before their window (bound reached)", dedupEvicted, "entries"),
        ];
    }

    /// <summary>Request n: 0-4 track, 5-6 identify, 7-8 page, 9 a batch of <see cref="BatchItems"/> mixed events.</summary>
    private static int EventsOf(long n) => Math.Abs(n % 10) == 9 ? BatchItems : 1;

    private static long? ParseId(string messageId)
    {
        var parts = messageId.Split('-'); // soak-<n>-<k>
        return parts.Length == 3 && long.TryParse(parts[1], out var n) && int.TryParse(parts[2], out var k) ? n * 64 + k : null;
    }

    private static string Event(long n, int k, int kind)
    {
        var user = "user" + ((n * 7 + k) % 5000);
        var id = $"soak-{n}-{k}";
        return (kind % 3) switch
        {
            0 => $$$"""{"type":"track","userId":"{{{user}}}","event":"Order Completed","messageId":"{{{id}}}","properties":{"total":{{{n % 300}}},"sku":"s{{{k}}}"}}""",
            1 => $$$"""{"type":"identify","userId":"{{{user}}}","messageId":"{{{id}}}","traits":{"email":"{{{user}}}@example.com","plan":"p{{{n % 4}}}"}}""",
            _ => $$$"""{"type":"page","anonymousId":"anon{{{n % 20000}}}","messageId":"{{{id}}}","name":"Home","properties":{"path":"/dermatology/{{{k}}}"}}""",
        };
    }

    private static async Task<HttpStatusCode> Send(HttpClient client, long n)
    {
        var slot = Math.Abs(n % 10);
        var (path, body) = slot switch
        {
            < 5 => ("/v1/track", Event(n, 0, 0)),
            < 7 => ("/v1/identify", Event(n, 0, 1)),
            < 9 => ("/v1/page", Event(n, 0, 2)),
            _ => ("/v1/batch", "{\"batch\":[" + string.Join(",", Enumerable.Range(0, BatchItems).Select(k => Event(n, k, k))) + "]}"),
        };
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        try
        {
            using var response = await client.PostAsync(path, content);
            await response.Content.CopyToAsync(Stream.Null);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return HttpStatusCode.ServiceUnavailable;
        }
        catch (TaskCanceledException)
        {
            return HttpStatusCode.RequestTimeout;
        }
    }
}
