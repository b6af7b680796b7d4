using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Cdp.Host;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Profiles.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Bench;

/// <summary>
/// Processing (identity resolution + profile update, one transaction per batch) on a realistic mixed stream:
/// mostly anonymous page views from returning and new visitors, some product/order tracks, form fills (identify with
/// email, sometimes phone), logins (userId + anonymousId) and email clicks from a second device (the merges).
/// Ceiling, same run: reading the same events back from the log and parsing their JSON, without processing.
/// Freshness: with the processor running, events are appended at a steady rate and the processor reports
/// log-commit (= ack) -> profile-commit latency; p95 over the run.
/// </summary>
public sealed class ProcessingBench : IBenchScenario
{
    private static string MedianMax(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? "none" : $"median {sorted[sorted.Count / 2]:N0} max {sorted[^1]:N0}";
    }

    public string Name => "Processing";

    public async Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        var liteDb = await RunOnAsync(context, []);
        // the same stream once more with the host on a fresh PostgreSQL database, after the LiteDB run, beside its figures
        if (await BenchPostgres.HostSettingsAsync("processing") is not { } postgres) return liteDb;
        Console.WriteLine("   on PostgreSQL:");
        return [.. liteDb, .. BenchPostgres.Beside(liteDb, await RunOnAsync(context, postgres))];
    }

    /// <param name="storage">extra host settings: none for LiteDB, the provider and connection string for PostgreSQL</param>
    private static async Task<IReadOnlyList<BenchFigure>> RunOnAsync(BenchContext context, string[] storage)
    {
        var postgres = BenchPostgres.ConnectionString(storage);
        var events = int.TryParse(Environment.GetEnvironmentVariable("CDP_BENCH_QUICK_EVENTS"), out var q) && context.Quick ? q : context.Quick ? 300_000 : int.TryParse(Environment.GetEnvironmentVariable("CDP_BENCH_PROCESSING_EVENTS"), out var n) ? n : 3_000_000;
        var visitors = events / 10; // ~10 events per person, the design's 1M profiles / 10M events shape
        var dbPath = Path.Combine(context.WorkFolder, "cdp.db");
        var app = CdpApp.Build(CdpApp.CreateBuilder(
        [
            "--Cdp:Storage:Path=" + dbPath, "--Logging:LogLevel:Default=Warning", "--Logging:Console:FormatterName=simple",
            "--Cdp:Collection:QueueCapacity=1000000",
            // the shipped batch sizes unless CDP_BENCH_BATCH sets both (the pre-filled log is a quiet log: CatchUpBatchSize applies)
            .. (Environment.GetEnvironmentVariable("CDP_BENCH_BATCH") is { } batchSize ? ["--Cdp:Profiles:BatchSize=" + batchSize, "--Cdp:Profiles:CatchUpBatchSize=" + batchSize] : Array.Empty<string>()),
            // any other setting to try, e.g. CDP_BENCH_SETTINGS="--Cdp:Profiles:CatchUpBatchSize=50000 --Cdp:Storage:CheckpointPages=20000"
            // (split before each "--", so a value may hold spaces)
            .. System.Text.RegularExpressions.Regex.Split(Environment.GetEnvironmentVariable("CDP_BENCH_SETTINGS") ?? "", @"\s+(?=--)").Select(a => a.Trim()).Where(a => a.Length > 0),
            .. storage,
        ]));
        var hosted = app.Services.GetServices<IHostedService>().ToList();
        var writer = hosted.OfType<EventLogWriter>().Single();
        var processor = (IHostedService)app.Services.GetRequiredService<IProfileProcessor>();
        var log = app.Services.GetRequiredService<IEventLog>();
        await writer.StartAsync(CancellationToken.None);
        try
        {
            var stream = new MixedStream(visitors, seed: 20260101);
            var fill = Stopwatch.StartNew();
            for (var done = 0; done < events;)
            {
                var size = Math.Min(5_000, events - done);
                await writer.SubmitAsync(stream.Next(size), []);
                done += size;
            }
            fill.Stop();
            Console.WriteLine($"   log filled: {events:N0} events from {visitors:N0} visitors in {fill.Elapsed.TotalSeconds:N1} s");

            // ceiling: read + parse the same events without processing
            var readCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var read = Stopwatch.StartNew();
            long after = 0, parsed = 0;
            while (true)
            {
                var batch = log.ReadAfter(after, 5_000);
                if (batch.Count == 0) break;
                foreach (var e in batch) { using var doc = JsonDocument.Parse(e.Json); parsed += doc.RootElement.GetArrayLength_Safe(); }
                after = batch[^1].Sequence;
            }
            read.Stop();
            var readCpu = (Process.GetCurrentProcess().TotalProcessorTime - readCpuBefore).TotalSeconds;
            var ceiling = events / read.Elapsed.TotalSeconds;

            using var sampler = Environment.GetEnvironmentVariable("CDP_BENCH_ALLOC") == "1" ? new AllocationSampler() : null;
            if (sampler is not null) sampler.On = true;
            GC.Collect();
            var gcBefore = (G0: GC.CollectionCount(0), G1: GC.CollectionCount(1), G2: GC.CollectionCount(2), Pause: GC.GetTotalPauseDuration());
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var ioBefore = ProcessIo.Now();
            var run = Stopwatch.StartNew();
            await processor.StartAsync(CancellationToken.None);
            var processed = app.Services.GetRequiredService<IProfileProcessor>().WaitForCheckpointAsync(log.LastSequence, CancellationToken.None);
            // an admin reading profiles meanwhile: how long a read waits for the engine while the processor writes big batches
            var reads = ProfileReads(app.Services, visitors, processed);
            long peakRss = 0;
            var lastReport = TimeSpan.Zero;
            var gc = new GcPauseSampler();
            (long Checkpoint, TimeSpan At)? tailFrom = null; // the last fifth of the stream runs at the full population
            double longestHold = 0;
            var sizes = new List<int>();
            while (await Task.WhenAny(processed, Task.Delay(200)) != processed)
            {
                var st = app.Services.GetRequiredService<IProfileProcessor>().Status;
                longestHold = Math.Max(longestHold, st.LastBatchWriteMilliseconds);
                if (tailFrom is null && st.Checkpoint >= events * 4 / 5) tailFrom = (st.Checkpoint, run.Elapsed);
                sizes.Add(st.LastBatchEvents);
                gc.Poll();
                peakRss = Math.Max(peakRss, Process.GetCurrentProcess().WorkingSet64);
                if (run.Elapsed - lastReport < TimeSpan.FromSeconds(30)) continue;
                // a long run (the 1M-profile footprint takes an hour) says where it is
                lastReport = run.Elapsed;
                var at = app.Services.GetRequiredService<IProfileProcessor>().Status.Checkpoint;
                Console.WriteLine($"   ... {run.Elapsed.TotalMinutes:N1} min: {at:N0} of {events:N0} events ({at / run.Elapsed.TotalSeconds:N0}/s so far, " +
                    $"last batch {app.Services.GetRequiredService<IProfileProcessor>().Status.EventsPerSecond:N0}/s), peak RSS {peakRss / 1e6:N0} MB, " +
                    (postgres is null ? $"DB {new DirectoryInfo(context.WorkFolder).GetFiles("cdp*").Sum(f => f.Length) / 1e6:N0} MB" : "DB on PostgreSQL"));
            }
            await processed;
            run.Stop();
            if (Environment.GetEnvironmentVariable("CDP_BENCH_PAGES") == "1" && postgres is null) PrintDataPages(app.Services);
            var readLatencies = await reads;
            Console.WriteLine($"   write gate held up to {longestHold:N0} ms by one batch; batch sizes seen: {MedianMax(sizes.Select(x => (double)x))}");
            gc.Print();
            if (sampler is not null) { sampler.On = false; sampler.Print(); }
            var io = ProcessIo.Now() - ioBefore;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
            var rate = events / run.Elapsed.TotalSeconds;
            var tailRate = tailFrom is { } t0 && run.Elapsed > t0.At ? (events - t0.Checkpoint) / (run.Elapsed - t0.At).TotalSeconds : rate;
            Console.WriteLine($"   processed {events:N0} events in {run.Elapsed.TotalSeconds:N1} s ({cpu / run.Elapsed.TotalSeconds:N2} cores busy); " +
                $"GCs gen0/1/2 {GC.CollectionCount(0) - gcBefore.G0}/{GC.CollectionCount(1) - gcBefore.G1}/{GC.CollectionCount(2) - gcBefore.G2}, " +
                $"paused {(GC.GetTotalPauseDuration() - gcBefore.Pause).TotalSeconds:N1} s ({(GC.GetTotalPauseDuration() - gcBefore.Pause) / run.Elapsed:P0} of the run); " +
                $"file I/O per event: {io.Written / (double)events / 1024:N1} KB written, {io.Read / (double)events / 1024:N1} KB read");

            // freshness at a steady load below the throughput: 10k events/s in 100-event commits for a while
            // half of what the processor does at the full population (the tail), not of the run's average, which the
            // first events (few profiles yet) inflate
            var steadyRate = Math.Min(10_000, tailRate / 2);
            var steady = TimeSpan.FromSeconds(context.Quick ? 12 : 30); // longer than the 10 s freshness window
            var clock = Stopwatch.StartNew();
            long sent = 0;
            var steadyBatches = new List<(int Events, double Ms)>();
            while (clock.Elapsed < steady)
            {
                var due = (long)(clock.Elapsed.TotalSeconds * steadyRate);
                if (due - sent >= 100) { await writer.SubmitAsync(stream.Next(100), []); sent += 100; }
                else await Task.Delay(2);
                var st = app.Services.GetRequiredService<IProfileProcessor>().Status;
                if (steadyBatches.Count == 0 || steadyBatches[^1].Events != st.LastBatchEvents || steadyBatches[^1].Ms != st.LastBatchWriteMilliseconds)
                    steadyBatches.Add((st.LastBatchEvents, st.LastBatchWriteMilliseconds));
            }
            Console.WriteLine($"   steady phase: {steadyBatches.Count} batches, sizes {MedianMax(steadyBatches.Select(b => (double)b.Events))}, " +
                $"write ms {MedianMax(steadyBatches.Select(b => b.Ms))}");
            if (Environment.GetEnvironmentVariable("CDP_BENCH_GCLOG") == "1") Console.WriteLine("   " + string.Join(" ", steadyBatches.Select(b => $"{b.Events}/{b.Ms:N0}")));
            await app.Services.GetRequiredService<IProfileProcessor>().WaitForCheckpointAsync(log.LastSequence, CancellationToken.None);
            var status = app.Services.GetRequiredService<IProfileProcessor>().Status;

            GC.Collect();
            GC.WaitForPendingFinalizers();
            var rss = Process.GetCurrentProcess().WorkingSet64;
            var total = log.LastSequence;
            // on PostgreSQL: the database's size (pg_database_size, an empty database's few MB included); the profile
            // document count is LiteDB's alone
            var dbBytes = postgres is null ? new DirectoryInfo(context.WorkFolder).GetFiles("cdp*").Sum(f => f.Length) : BenchPostgres.DatabaseBytes(postgres);
            var profiles = postgres is null ? app.Services.GetRequiredService<Cdp.Modules.Shared.Storage.CdpDatabase>().Collection("profiles").Count().ToString("N0") : "(not counted on PostgreSQL)";
            Console.WriteLine($"   {total:N0} events, {profiles} profile documents (incl. merged-away), DB {dbBytes / 1e6:N0} MB, RSS {rss / 1e6:N0} MB " +
                $"(peak while processing {peakRss / 1e6:N0} MB), parsed check {parsed}");

            return
            [
                new BenchFigure("processing throughput (mixed stream)", rate, "events/s", Target: 20_000, CeilingName: "log read + JSON parse", Ceiling: ceiling),
                new BenchFigure("processing throughput, last fifth of the stream", tailRate, "events/s", Target: 20_000),
                new BenchFigure("longest write-gate hold by one batch", longestHold, "ms", LowerIsBetter: true),
                new BenchFigure("processing CPU per event", cpu / events * 1e6, "µs", LowerIsBetter: true),
                // the machine is shared (load average far above its 2 cores): events per CPU-second is what the loop can do on a core of its own
                new BenchFigure("processing throughput per CPU-second", events / cpu, "events/s", Target: 20_000, CeilingName: "log read + JSON parse per CPU-second", Ceiling: events / readCpu),
                new BenchFigure($"freshness p95 at {steadyRate:N0} events/s", status.FreshnessP95Milliseconds, "ms", Target: 1_000, LowerIsBetter: true),
                new BenchFigure($"profile read while processing, p50 ({readLatencies.Length:N0} reads at 50/s)", Percentile(readLatencies, 0.50), "ms", LowerIsBetter: true),
                new BenchFigure("profile read while processing, p99", Percentile(readLatencies, 0.99), "ms", LowerIsBetter: true),
                new BenchFigure("profile read while processing, longest", readLatencies.Length == 0 ? 0 : readLatencies[^1], "ms", LowerIsBetter: true),
                new BenchFigure($"RSS after {total:N0} events / {visitors:N0} visitors", rss / 1e6, "MB", Target: 2_000, LowerIsBetter: true),
                new BenchFigure("peak RSS while processing", peakRss / 1e6, "MB", Target: 2_000, LowerIsBetter: true),
                new BenchFigure("DB size per event (log + projections)", (double)dbBytes / total, "bytes", Target: 1_000, LowerIsBetter: true),
            ];
        }
        finally
        {
            await processor.StopAsync(CancellationToken.None);
            await writer.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }

    /// <summary>
    /// Reads a random visitor's profile 50 times a second (identifier lookup, then the profile, as GET
    /// /api/profiles/anonymous_id:... does, without HTTP) until <paramref name="until"/> ends; returns the sorted latencies.
    /// </summary>
    private static async Task<double[]> ProfileReads(IServiceProvider services, int visitors, Task until)
    {
        var directory = services.GetRequiredService<Cdp.Modules.Identity.Contracts.IIdentityDirectory>();
        var reader = services.GetRequiredService<IProfileReader>();
        var random = new Random(7);
        var latencies = new List<double>();
        await Task.Yield();
        while (!until.IsCompleted)
        {
            var visitor = random.Next(visitors);
            var t0 = Stopwatch.GetTimestamp();
            // the read runs on a pool thread, as a request would; LiteDB binds nothing across the await
            await Task.Run(() =>
            {
                if (directory.FindProfile($"anonymous_id:anon-{visitor:x8}-4c1e-9a7b-{visitor * 7919 % 1_000_000:D6}") is { } no)
                    reader.Get(ProfileIds.Format(no));
            });
            latencies.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            await Task.WhenAny(until, Task.Delay(20));
        }
        return [.. latencies.Order()];
    }

    /// <summary>
    /// CDP_BENCH_PAGES=1: data pages, blocks and documents per collection after processing (LiteDB's $dump; a few seconds
    /// per GB). Blocks per document above 1 means documents that grew spilled into other pages, so each read or update
    /// of one touches several pages.
    /// </summary>
    private static void PrintDataPages(IServiceProvider services)
    {
        var db = services.GetRequiredService<Cdp.Modules.Shared.Storage.CdpDatabase>().Database;
        var stats = new Dictionary<string, (int Pages, long Blocks, long Free)>();
        foreach (var page in db.GetCollection("$dump").FindAll())
        {
            if (page["pageType"].AsString != "Data") continue;
            var c = page["collection"].AsString;
            var st = stats.GetValueOrDefault(c);
            stats[c] = (st.Pages + 1, st.Blocks + page["itemsCount"].AsInt32, st.Free + page["freeBytes"].AsInt32);
        }
        foreach (var (c, st) in stats.OrderByDescending(x => x.Value.Pages).Take(8))
        {
            var docs = db.GetCollection(c).LongCount();
            Console.WriteLine($"   data pages of {c}: {st.Pages:N0} pages, {docs:N0} documents in {st.Blocks:N0} blocks ({st.Blocks / (double)Math.Max(1, docs):N2} per document), {st.Free / (double)st.Pages:N0} bytes free per page");
        }
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    /// <summary>Deterministic mixed traffic; JSON shaped like analytics.js output (context with page, userAgent, library).</summary>
    internal sealed class MixedStream(int visitors, int seed)
    {
        private readonly Random _random = new(seed);
        private int _arrived;
        private long _message;
        private readonly DateTime _start = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        private static readonly string[] Pages = ["/", "/pricing", "/dermatology", "/blog/skin-care", "/book", "/contact", "/about", "/products/cream"];

        public List<AcceptedEvent> Next(int count)
        {
            var list = new List<AcceptedEvent>(count);
            for (var i = 0; i < count; i++)
            {
                var id = "m" + (++_message);
                list.Add(new AcceptedEvent("website", id, Encoding.UTF8.GetBytes(Make(id))));
            }
            return list;
        }

        private string Make(string messageId)
        {
            // a new visitor arrives on ~1 event in 10; otherwise a returning one (recent visitors are more active)
            var visitor = _arrived < 10 || (_random.NextDouble() < 0.1 && _arrived < visitors) ? _arrived++ : Math.Max(0, _arrived - 1 - (int)Math.Min(_arrived - 1, Math.Abs(_random.NextDouble() * _random.NextDouble() * _arrived)));
            var ts = _start.AddSeconds(_message * 5).ToString("O");
            var anon = $"anon-{visitor:x8}-4c1e-9a7b-{visitor * 7919 % 1_000_000:D6}";
            var roll = _random.Next(1000);
            var ctx = $"\"context\":{{\"library\":{{\"name\":\"analytics.js\",\"version\":\"4.1.0\"}},\"page\":{{\"path\":\"{Pages[roll % Pages.Length]}\",\"referrer\":\"https://www.google.com/\"}},\"userAgent\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36\",\"ip\":\"10.0.{visitor % 250}.{visitor % 200}\"";
            var head = $"{{\"messageId\":\"{messageId}\",\"timestamp\":\"{ts}\",\"receivedAt\":\"{ts}\",";
            if (roll < 820) // page view
                return head + $"\"type\":\"page\",\"anonymousId\":\"{anon}\",\"name\":\"{Pages[roll % Pages.Length]}\",\"properties\":{{\"path\":\"{Pages[roll % Pages.Length]}\",\"title\":\"Clinic\"}},{ctx}}}}}";
            if (roll < 900) // product / order
                return head + (roll < 880
                    ? $"\"type\":\"track\",\"anonymousId\":\"{anon}\",\"event\":\"Product Viewed\",\"properties\":{{\"sku\":\"sku-{roll % 40}\",\"price\":{roll % 90 + 10}}},{ctx}}}}}"
                    : $"\"type\":\"track\",\"anonymousId\":\"{anon}\",\"event\":\"Order Completed\",\"properties\":{{\"revenue\":{roll % 300 + 20},\"currency\":\"EUR\"}},{ctx}}}}}");
            if (roll < 960) // form fill
                return head + $"\"type\":\"identify\",\"anonymousId\":\"{anon}\",\"traits\":{{\"email\":\"Person.{visitor}@example.com\",\"firstName\":\"P{visitor}\"{(roll % 3 == 0 ? $",\"phone\":\"+1 201-555-{visitor % 10_000:D4}\"" : "")}}},{ctx}}}}}";
            if (roll < 990) // login
                return head + $"\"type\":\"identify\",\"userId\":\"user-{visitor}\",\"anonymousId\":\"{anon}\",\"traits\":{{\"plan\":\"{(roll % 2 == 0 ? "basic" : "pro")}\"}},{ctx}}}}}";
            // email click on another device: a new anonymous id carrying a known email -> merges once that device comes back
            var other = $"anon-mobile-{visitor % 5000:D5}";
            return head + $"\"type\":\"track\",\"anonymousId\":\"{other}\",\"event\":\"Email Clicked\",\"properties\":{{\"campaign\":\"spring\"}},\"context\":{{\"traits\":{{\"email\":\"person.{visitor}@example.com\"}}}}}}";
        }
    }
}

/// <summary>Bytes this process passed to write(2)/read(2) so far (/proc/self/io; zero where there is no procfs).</summary>
internal readonly record struct ProcessIo(long Written, long Read)
{
    public static ProcessIo Now()
    {
        try
        {
            var lines = File.ReadAllLines("/proc/self/io");
            long Field(string name) => long.Parse(lines.First(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..].Trim());
            return new ProcessIo(Field("wchar"), Field("rchar"));
        }
        catch (IOException) { return default; }
        catch (UnauthorizedAccessException) { return default; }
    }

    public static ProcessIo operator -(ProcessIo a, ProcessIo b) => new(a.Written - b.Written, a.Read - b.Read);
}

internal static class JsonElementExtensions
{
    /// <summary>Touches the payload so the parse cannot be optimised away; 1 for an object.</summary>
    public static int GetArrayLength_Safe(this JsonElement e) => e.ValueKind == JsonValueKind.Object ? 1 : 0;
}
