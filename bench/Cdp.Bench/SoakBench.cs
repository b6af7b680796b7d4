using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Cdp.Host;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Collection.EventLog.LiteDb;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Bench;

/// <summary>
/// Soak: sustained mixed /v1 traffic (track, identify, page, batches of 20) for minutes (CDP_SOAK_SECONDS, default 120;
/// --quick 20 s). Every event carries a messageId naming its request and position; after the run the event log is read
/// back and each acknowledged event is looked up: lost = acknowledged - found (must be 0). Memory: peak RSS against the
/// RSS after warm-up, and the last quarter's peak against the second's (flat when near 1; the load generator runs in the
/// same process). Stability: the rate of the last quarter against the first.
/// Hostile share (CDP_SOAK_HOSTILE_PERCENT, default 1; 0 turns it off): that share of the events carry values an
/// attacker with the write key could send (text, "NaN" and 1e308 revenue for the shipped lifetime_revenue Sum, objects
/// and arrays where strings are expected, deep and wide traits, year-9999 and epoch timestamps, lone 30,000-character
/// strings), with two live segments that read traits and computed traits besides the shipped one. After the load the
/// processor must drain to the log head (lag 0), every acknowledged event must be in the log or a dead letter, and the
/// failures the processor lists must equal the hostile events that cannot be processed (none: projections are total).
/// </summary>
public sealed class SoakBench : IBenchScenario
{
    private const string WriteKey = "bench-soak-write-key";
    private const int Workers = 32;
    private const int BatchItems = 20;

    /// <summary>A lone string just under the 32 KB event limit once the rest of the event is added.</summary>
    private const int HugeStringChars = 30_000;

    /// <summary>Nesting of the deep hostile trait (ingest's own depth limit may dead-letter it: either outcome is counted).</summary>
    private const int DeepTraitLevels = 48;

    /// <summary>Keys of the wide hostile trait object.</summary>
    private const int WideTraitKeys = 600;

    /// <summary>How long the processor may take to drain the backlog after the load before the lag figure is taken.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromMinutes(10);

    private static readonly Regex SoakMessageId = new("\"messageId\"\\s*:\\s*\"(soak-[0-9]+-[0-9]+)\"", RegexOptions.CultureInvariant);

    /// <summary>Hostile share in hundredths of a percent (0-10000), set once per run.</summary>
    private static int _hostileBasisPoints = 100;

    public string Name => "Soak";

    public async Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("CDP_SOAK_SECONDS"), out var s) ? s : context.Quick ? 20 : 120;
        var hostilePercent = double.TryParse(Environment.GetEnvironmentVariable("CDP_SOAK_HOSTILE_PERCENT"), System.Globalization.CultureInfo.InvariantCulture, out var hp) ? hp : 1.0;
        _hostileBasisPoints = (int)Math.Clamp(Math.Round(hostilePercent * 100), 0, 10_000);
        var builder = CdpApp.CreateBuilder([
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            $"--Cdp:Storage:Path={Path.Combine(context.WorkFolder, "cdp.db")}",
            $"--Cdp:Sources:bench:WriteKey={WriteKey}",
            // a smaller dedup bound than the default 5M, so a soak of minutes reaches it and shows memory stays flat past it
            $"--Cdp:Collection:DedupMaxEntries={Environment.GetEnvironmentVariable("CDP_SOAK_DEDUP_MAX") ?? "5000000"}",
            // live segments that read traits and computed traits (the shipped one reads page properties): the hostile
            // events' wrong types reach every reader
            "--Cdp:Segments:soak-known-email:Name=Known email",
            "--Cdp:Segments:soak-known-email:Where=traits.email exists and traits.email endsWith \"@example.com\"",
            "--Cdp:Segments:soak-buyers:Name=Buyers",
            "--Cdp:Segments:soak-buyers:Where=computed.lifetime_revenue > 500 or (traits.plan in [\"p1\", \"p2\"] and computed.orders_30d >= 1)",
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
        var hostileAcked = new long[Workers];
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
                    for (var k = 0; k < events; k++)
                        if (IsHostile(n, k)) hostileAcked[w]++;
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
        // an acknowledged event that failed validation is a dead letter (kept with its reasons): found there, it is not lost
        var deadLettered = new HashSet<long>();
        foreach (var d in app.Services.GetRequiredService<CdpDatabase>().Collection(EventLogSchema.DeadLetters).FindAll())
            if (SoakMessageId.Match(d["raw"].AsString) is { Success: true } m && ParseId(m.Groups[1].Value) is { } id) deadLettered.Add(id);
        long inDeadLetters = 0, hostileDeadLettered = 0, plainDeadLettered = 0;
        foreach (var n in acked.SelectMany(a => a))
            for (var k = 0; k < EventsOf(n); k++)
            {
                if (found.Contains(n * 64 + k) || !deadLettered.Contains(n * 64 + k)) continue;
                inDeadLetters++;
                if (IsHostile(n, k)) hostileDeadLettered++;
                else plainDeadLettered++;
            }
        var lost = expected - verified - inDeadLetters;
        var processor = app.Services.GetRequiredService<IProfileProcessor>();
        var atEnd = processor.Status;
        var lag = Math.Max(0, log.LastSequence - atEnd.Checkpoint);

        // the backlog must drain: hostile events may cost values, never the processor
        var head = log.LastSequence;
        var drainStarted = Stopwatch.GetTimestamp();
        var drained = true;
        using (var drainTimeout = new CancellationTokenSource(DrainTimeout))
        {
            try { await processor.WaitForCheckpointAsync(head, drainTimeout.Token); }
            catch (OperationCanceledException) { drained = false; }
        }
        var drainSeconds = Stopwatch.GetElapsedTime(drainStarted).TotalSeconds;
        var afterDrain = processor.Status;
        var lagAfterDrain = Math.Max(0, head - afterDrain.Checkpoint);
        // hostile events that cannot be processed: none, since projections are total (a wrong type costs the value)
        const long hostileExpectedToFail = 0;
        var failuresListed = afterDrain.FailedEvents;
        // what the hostile values cost instead: values skipped by the projections (wrong type, over a limit)
        var skipped = app.Services.GetRequiredService<Cdp.Modules.Profiles.Projection.SkippedValueMetrics>();
        var (revenueSkipped, traitsSkipped) = (skipped.Get("computed.lifetime_revenue"), skipped.Get("traits"));
        var writer = app.Services.GetServices<IHostedService>().OfType<EventLogWriter>().Single();
        var (dedupEntries, dedupEvicted) = (writer.DedupEntries, writer.DedupEvictedEarly);
        await app.StopAsync();
        var hostile = hostileAcked.Sum();

        var mb = 1024.0 * 1024.0;
        return
        [
            new("soak: duration", elapsed, "s"),
            new("soak: events acknowledged", expected, "events"),
            new("soak: acknowledged events/s", expected / elapsed, "events/s"),
            new("soak: hostile events acknowledged", hostile, "events", CeilingName: "acknowledged", Ceiling: expected),
            new("soak: events verified in the log + dead letters", verified + inDeadLetters, "events", CeilingName: "acknowledged", Ceiling: expected, RatioTarget: 1.0),
            new("soak: events verified in the log", verified, "events", CeilingName: "acknowledged", Ceiling: expected),
            new("soak: hostile events dead-lettered at ingest", hostileDeadLettered, "events", CeilingName: "hostile acknowledged", Ceiling: hostile),
            new("soak: well-formed events dead-lettered", plainDeadLettered, "events", Target: 0, LowerIsBetter: true),
            new("soak: events lost", lost, "events", Target: 0, LowerIsBetter: true),
            new("soak: requests refused 429 / failed", rejected + failed, "requests"),
            new("soak: rate, last quarter", quarter[3] / (elapsed / 4), "events/s", CeilingName: "first quarter", Ceiling: quarter[0] / (elapsed / 4), RatioTarget: 0.7),
            new("soak: peak RSS", peakRss / mb, "MB", CeilingName: "RSS after warm-up", Ceiling: baselineRss / mb),
            new("soak: peak RSS, last quarter", quarterPeakRss[3] / mb, "MB", CeilingName: "peak RSS, second quarter", Ceiling: quarterPeakRss[1] / mb),
            new("soak: processor lag at the end of the load", lag, "events"),
            new("soak: processor events/s during the load", atEnd.EventsPerSecond, "events/s", CeilingName: "acknowledged events/s", Ceiling: expected / elapsed),
            new("soak: freshness p95 at the end of the load", atEnd.FreshnessP95Milliseconds, "ms"),
            new("soak: seconds to drain the backlog", drainSeconds, "s"),
            new("soak: processor lag after draining (checkpoint to log head)", drained ? lagAfterDrain : head, "events", Target: 0, LowerIsBetter: true),
            new("soak: processor failures listed", failuresListed, "events"),
            new("soak: hostile events that cannot be processed (expected failures)", hostileExpectedToFail, "events"),
            new("soak: processor failures listed - hostile events that cannot be processed", Math.Abs(failuresListed - hostileExpectedToFail), "events", Target: 0, LowerIsBetter: true),
            new("soak: events set aside by the processor since start", afterDrain.SetAsideSinceStart, "events"),
            new("soak: values skipped, computed.lifetime_revenue", revenueSkipped, "values"),
            new("soak: values skipped, traits", traitsSkipped, "values"),
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

    /// <summary>Whether event k of request n is hostile: a fixed hash of its id, so the share holds over any run length.</summary>
    private static bool IsHostile(long n, int k)
    {
        if (n < 0 || _hostileBasisPoints == 0) return false; // warm-up requests stay well-formed
        var mixed = (ulong)(n * 64 + k) * 0x9E3779B97F4A7C15UL;
        return (int)((mixed >> 40) % 10_000) < _hostileBasisPoints;
    }

    private static string Event(long n, int k, int kind)
    {
        var user = "user" + ((n * 7 + k) % 5000);
        var id = $"soak-{n}-{k}";
        if (IsHostile(n, k)) return HostileEvent(n, k, kind % 3, user, id);
        return (kind % 3) switch
        {
            0 => $$$"""{"type":"track","userId":"{{{user}}}","event":"Order Completed","messageId":"{{{id}}}","properties":{"total":{{{n % 300}}},"sku":"s{{{k}}}"}}""",
            1 => $$$"""{"type":"identify","userId":"{{{user}}}","messageId":"{{{id}}}","traits":{"email":"{{{user}}}@example.com","plan":"p{{{n % 4}}}"}}""",
            _ => $$$"""{"type":"page","anonymousId":"anon{{{n % 20000}}}","messageId":"{{{id}}}","name":"Home","properties":{"path":"/dermatology/{{{k}}}"}}""",
        };
    }

    /// <summary>
    /// A hostile event of the kind its endpoint expects (0 track, 1 identify, 2 page); the variant cycles with the id.
    /// Some may be refused at ingest (dead letters, still acknowledged); the rest must cost at most the bad value.
    /// </summary>
    private static string HostileEvent(long n, int k, int kind, string user, string id)
    {
        var variant = (int)((n + k) % 8);
        return kind switch
        {
            0 => variant switch
            {
                0 => Track(user, id, "\"revenue\":\"12.50 EUR\""),
                1 => Track(user, id, "\"revenue\":\"NaN\""),
                2 => Track(user, id, "\"revenue\":\"1e308\""),
                3 => Track(user, id, "\"revenue\":1e308"),
                4 => Track(user, id, "\"revenue\":{\"amount\":12.5,\"currency\":\"EUR\"}"),
                5 => Track(user, id, "\"revenue\":[1,2,3]", "\"timestamp\":\"9999-12-31T23:59:59Z\","),
                6 => Track(user, id, "\"revenue\":-1e308", "\"timestamp\":\"1970-01-01T00:00:00Z\","),
                _ => Track(user, id, $"\"revenue\":\"{new string('9', HugeStringChars)}\""),
            },
            1 => variant switch
            {
                0 => Identify(user, id, "\"email\":[\"a@example.com\",\"b@example.com\"],\"plan\":{\"name\":\"p1\"}"),
                1 => Identify(user, id, "\"email\":{\"value\":\"x@example.com\"},\"plan\":[\"p1\"]"),
                2 => Identify(user, id, "\"email\":" + string.Concat(Enumerable.Repeat("{\"a\":", DeepTraitLevels)) + "\"deep\"" + new string('}', DeepTraitLevels)),
                3 => Identify(user, id, "\"wide\":{" + string.Join(",", Enumerable.Range(0, WideTraitKeys).Select(i => $"\"k{i}\":{i}")) + "}"),
                4 => Identify(user, id, "\"email\":1e308,\"plan\":\"NaN\",\"lifetime_revenue\":\"12.50 EUR\""),
                5 => Identify(user, id, "\"email\":\"" + user + "@example.com\",\"signup\":\"9999-12-31T23:59:59Z\"", "\"timestamp\":\"9999-12-31T23:59:59Z\","),
                6 => Identify(user, id, "\"email\":null,\"plan\":true", "\"timestamp\":\"1970-01-01T00:00:00Z\","),
                _ => Identify(user, id, $"\"email\":\"{new string('e', HugeStringChars)}@example.com\""),
            },
            _ => variant switch
            {
                0 => Page(id, n, "\"path\":{\"a\":\"/dermatology\"}"),
                1 => Page(id, n, "\"path\":[\"/dermatology\"]"),
                2 => Page(id, n, "\"path\":1e308"),
                3 => Page(id, n, "\"path\":\"/dermatology/x\"", "\"timestamp\":\"9999-12-31T23:59:59Z\","),
                4 => Page(id, n, "\"path\":\"/dermatology/x\"", "\"timestamp\":\"1970-01-01T00:00:00Z\","),
                5 => Page(id, n, "\"path\":" + string.Concat(Enumerable.Repeat("[", DeepTraitLevels)) + "1" + new string(']', DeepTraitLevels)),
                6 => Page(id, n, "\"path\":\"NaN\",\"total\":\"1e308\""),
                _ => Page(id, n, $"\"path\":\"/dermatology/{new string('d', HugeStringChars)}\""),
            },
        };

        static string Track(string user, string id, string properties, string extra = "") =>
            $$$"""{"type":"track","userId":"{{{user}}}","event":"Order Completed","messageId":"{{{id}}}",{{{extra}}}"properties":{{{{properties}}}}}""";

        static string Identify(string user, string id, string traits, string extra = "") =>
            $$$"""{"type":"identify","userId":"{{{user}}}","messageId":"{{{id}}}",{{{extra}}}"traits":{{{{traits}}}}}""";

        static string Page(string id, long n, string properties, string extra = "") =>
            $$$"""{"type":"page","anonymousId":"anon{{{n % 20000}}}","messageId":"{{{id}}}","name":"Home",{{{extra}}}"properties":{{{{properties}}}}}""";
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
