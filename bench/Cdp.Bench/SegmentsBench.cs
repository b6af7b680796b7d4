using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Cdp.Host;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Membership;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration.Json;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Bench;

/// <summary>
/// Segments: processing throughput (identity + profiles + segments, a timed reprocess of the same log) with 10
/// real-time segments against the same run without segments; and a full sweep of N profiles x 10 segments,
/// extrapolated linearly to 1M profiles.
/// </summary>
internal sealed class SegmentsBench : IBenchScenario
{
    private const string WriteKey = "bench-write-key";

    /// <summary>Ten segments of the kinds admins write: event counts with filters and windows, traits, computed traits, segments of segments.</summary>
    public static readonly (string Key, string Where)[] Segments =
    [
        ("derm-no-booking", "performed page where properties.path startsWith \"/dermatology\" at least 2 times within 30d and not performed \"Appointment Booked\" within 30d"),
        ("derm-recent", "performed page where properties.path startsWith \"/dermatology\" within 7d"),
        ("bookers", "performed \"Appointment Booked\" within 90d"),
        ("big-buyers", "performed \"Order Completed\" where properties.total >= 100 at least 1 time within 60d"),
        ("repeat-buyers", "performed \"Order Completed\" between 2 and 10 times within 60d"),
        ("gold", "traits.plan in [\"gold\", \"platinum\"]"),
        ("gold-derm", "in segment \"gold\" and in segment \"derm-recent\""),
        ("lapsed", "performed any between 30 and 60 days ago and not performed any within 30d"),
        ("leeds", "traits.address.city = \"Leeds\" or traits.email endsWith \"@leeds.example\""),
        ("orders-30d", "computed.orders_30d >= 1 and not in segment \"bookers\""),
    ];

    public string Name => "segments";

    public async Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        var people = context.Quick ? 5_000 : 40_000;     // 10 events each for the processing run
        var without = await ProcessingRate(Path.Combine(context.WorkFolder, "plain"), people, withSegments: false);
        var with = await ProcessingRate(Path.Combine(context.WorkFolder, "segments"), people, withSegments: true);
        return
        [
            new BenchFigure("processing without segments (ceiling)", without, "events/s"),
            new BenchFigure("processing with 10 real-time segments", with, "events/s", Target: 20_000, CeilingName: "without segments", Ceiling: without, RatioTarget: 0.7),
        ];
    }

    /// <summary>The full sweep, a scenario of its own (`--only segment-sweep`) so it can be measured alone.</summary>
    internal static async Task<IReadOnlyList<BenchFigure>> SweepFigures(BenchContext context)
    {
        // CDP_SWEEP_PROFILES=1000000 measures the 1M sweep itself instead of extrapolating (about 10 minutes)
        var sweepPeople = int.TryParse(Environment.GetEnvironmentVariable("CDP_SWEEP_PROFILES"), out var n) && n > 0 ? n
            : context.Quick ? 20_000 : 200_000;
        var liteDb = await SweepFigures(Path.Combine(context.WorkFolder, "sweep"), sweepPeople, []);
        // the same sweep once more with the host on a fresh PostgreSQL database, after the LiteDB run, beside its figures
        if (await BenchPostgres.HostSettingsAsync("the sweep") is not { } postgres) return liteDb;
        return [.. liteDb, .. BenchPostgres.Beside(liteDb, await SweepFigures(Path.Combine(context.WorkFolder, "sweep-pg"), sweepPeople, postgres))];
    }

    private static async Task<IReadOnlyList<BenchFigure>> SweepFigures(string folder, int sweepPeople, string[] storage)
    {
        var (sweep, scan, sweepCpu, scanCpu) = await SweepTime(folder, sweepPeople, storage);
        var perProfile = sweep.Seconds / Math.Max(1, sweep.Profiles);
        return
        [
            // CPU seconds of the process: the sweep is single-threaded and the host is otherwise idle, so this is the
            // figure to compare across runs on a busy machine
            new BenchFigure("full sweep CPU time", sweepCpu, "s", LowerIsBetter: true, CeilingName: "reading the profiles alone, CPU", Ceiling: scanCpu),
            new BenchFigure("sweep 1M x 10 (extrapolated from CPU time)", sweepCpu / Math.Max(1, sweep.Profiles) * 1_000_000, "s", Target: 30, LowerIsBetter: true),
            new BenchFigure($"full sweep {sweep.Profiles:N0} profiles x 10 segments", sweep.Seconds, "s", LowerIsBetter: true,
                CeilingName: "reading the profiles alone (IProfileReader.ListAfter)", Ceiling: scan),
            new BenchFigure("sweep rate", sweep.Profiles / sweep.Seconds, "profiles/s"),
            new BenchFigure("sweep 1M x 10 (extrapolated linearly)", perProfile * 1_000_000, "s", Target: 30, LowerIsBetter: true),
        ];
    }

    /// <summary>Ingests 10 events per person, then times a reprocess of the whole log (the processor alone).</summary>
    private static async Task<double> ProcessingRate(string folder, int people, bool withSegments)
    {
        await using var app = await StartAsync(folder, withSegments, dailySweep: false);
        await Ingest(app, people, eventsPerPerson: 10);
        var head = app.Services.GetRequiredService<IEventLog>().LastSequence;
        var processor = app.Services.GetRequiredService<IProfileProcessor>();
        await processor.WaitForCheckpointAsync(head, CancellationToken.None);
        await BuildAsync(app);
        var sw = Stopwatch.StartNew();
        await processor.ReprocessAsync(CancellationToken.None);
        await processor.WaitForCheckpointAsync(head, CancellationToken.None);
        var rate = head / sw.Elapsed.TotalSeconds;
        if (processor.Status.LastError is { } error) throw new InvalidOperationException("processing failed: " + error);
        return rate;
    }

    private static async Task<(SweepResult Sweep, double ScanSeconds, double SweepCpu, double ScanCpu)> SweepTime(string folder, int people, string[] storage)
    {
        await using var app = await StartAsync(folder, withSegments: true, dailySweep: false, storage);
        await Ingest(app, people, eventsPerPerson: 3);
        var head = app.Services.GetRequiredService<IEventLog>().LastSequence;
        await app.Services.GetRequiredService<IProfileProcessor>().WaitForCheckpointAsync(head, CancellationToken.None);
        await BuildAsync(app);
        var evaluation = app.Services.GetRequiredService<SegmentEvaluation>();
        evaluation.Sweep(); // warm-up (JIT, caches)
        var profiles = app.Services.GetRequiredService<IProfileReader>();
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        long after = 0, n = 0;
        while (profiles.ListAfter(after, SegmentEvaluation.PageSize) is { Count: > 0 } page)
        {
            n += page.Count;
            ProfileIds.TryParse(page[^1].Id, out after);
        }
        var scan = sw.Elapsed.TotalSeconds;
        process.Refresh();
        var scanCpu = (process.TotalProcessorTime - cpu).TotalSeconds;
        cpu = process.TotalProcessorTime;
        var sweep = evaluation.Sweep();
        process.Refresh();
        return (sweep, scan, (process.TotalProcessorTime - cpu).TotalSeconds, scanCpu);
    }

    private static async Task BuildAsync(WebApplication app)
    {
        var catalogue = app.Services.GetRequiredService<SegmentCatalogue>();
        while (catalogue.Current.Ordered.Any(s => !s.Built)) await Task.Delay(50);
    }

    private static async Task Ingest(WebApplication app, int people, int eventsPerPerson)
    {
        using var http = new HttpClient { BaseAddress = Address(app) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(WriteKey + ":")));
        var random = new Random(42);
        var now = DateTime.UtcNow;
        var batch = new List<string>(500);
        for (var p = 0; p < people; p++)
        {
            for (var e = 0; e < eventsPerPerson; e++)
            {
                batch.Add(Event(random, p, e, now));
                if (batch.Count == 500) await Flush();
            }
        }
        await Flush();

        async Task Flush()
        {
            if (batch.Count == 0) return;
            var body = "{\"batch\":[" + string.Join(",", batch) + "]}";
            batch.Clear();
            var response = await http.PostAsync("/v1/batch", new StringContent(body, Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
        }
    }

    private static string Event(Random random, int person, int n, DateTime now)
    {
        var at = now.AddMinutes(-random.Next(0, 60 * 24 * 70)).ToString("O");
        var anon = $"anon-{person}";
        if (n == 0)
        {
            var plan = random.Next(4) switch { 0 => "gold", 1 => "platinum", 2 => "basic", _ => "free" };
            var city = random.Next(5) == 0 ? "Leeds" : "York";
            return $$$"""{"type":"identify","anonymousId":"{{{anon}}}","userId":"user-{{{person}}}","traits":{"plan":"{{{plan}}}","email":"p{{{person}}}@mail.example","address":{"city":"{{{city}}}"}},"timestamp":"{{{at}}}","messageId":"i-{{{person}}}-{{{n}}}"}""";
        }
        return random.Next(10) switch
        {
            < 6 => $$"""{"type":"page","anonymousId":"{{anon}}","name":"Page","properties":{"path":"/{{(random.Next(3) == 0 ? "dermatology" : "cardiology")}}/item-{{random.Next(50)}}","title":"Clinic page","referrer":"https://www.google.com/"},"context":{"locale":"en-GB","userAgent":"Mozilla/5.0"},"timestamp":"{{at}}","messageId":"e-{{person}}-{{n}}"}""",
            < 7 => $$"""{"type":"track","anonymousId":"{{anon}}","event":"Appointment Booked","properties":{"clinic":"derm"},"timestamp":"{{at}}","messageId":"e-{{person}}-{{n}}"}""",
            < 9 => $$"""{"type":"track","anonymousId":"{{anon}}","event":"Order Completed","properties":{"total":{{random.Next(5, 200)}},"currency":"GBP"},"timestamp":"{{at}}","messageId":"e-{{person}}-{{n}}"}""",
            _ => $$"""{"type":"track","anonymousId":"{{anon}}","event":"Newsletter Opened","properties":{"issue":{{random.Next(100)}}},"timestamp":"{{at}}","messageId":"e-{{person}}-{{n}}"}""",
        };
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    private static async Task<WebApplication> StartAsync(string folder, bool withSegments, bool dailySweep, string[]? storage = null)
    {
        Directory.CreateDirectory(folder);
        var args = new List<string>
        {
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            $"--Cdp:Storage:Path={Path.Combine(folder, "cdp.db")}",
            $"--Cdp:Sources:bench:WriteKey={WriteKey}",
            "--Cdp:Collection:QueueCapacity=1000000",
            $"--Cdp:SegmentEvaluation:SweepSchedule={(dailySweep ? "5 0 * * *" : "")}",
        };
        if (withSegments) foreach (var (key, where) in Segments) args.Add($"--Cdp:Segments:{key}:Where={where}");
        args.AddRange(storage ?? []); // PostgreSQL: the provider and its connection string
        var builder = CdpApp.CreateBuilder([.. args]);
        WithoutAppSettingsSegments(builder);
        builder.Logging.ClearProviders();
        var app = CdpApp.Build(builder);
        await app.StartAsync();
        return app;
    }

    /// <summary>appsettings.json ships an example segment: the bench decides the segments itself.</summary>
    private static void WithoutAppSettingsSegments(WebApplicationBuilder builder)
    {
        var sources = ((IConfigurationBuilder)builder.Configuration).Sources;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is not JsonConfigurationSource { Path: "appsettings.json" } json) continue;
            var file = json.FileProvider?.GetFileInfo(json.Path!);
            if (file is null || !file.Exists) continue;
            using var stream = file.CreateReadStream();
            var root = JsonNode.Parse(stream)!;
            root["Cdp"]!.AsObject().Remove("Segments");
            sources[i] = new JsonStreamConfigurationSource { Stream = new MemoryStream(Encoding.UTF8.GetBytes(root.ToJsonString())) };
        }
    }
}

/// <summary>Full sweep of N profiles x 10 segments, extrapolated linearly to 1M profiles.</summary>
internal sealed class SegmentSweepBench : IBenchScenario
{
    public string Name => "segment-sweep";

    public Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context) => SegmentsBench.SweepFigures(context);
}
