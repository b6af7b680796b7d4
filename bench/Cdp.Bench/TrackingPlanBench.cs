using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Cdp.Host;
using Cdp.Modules.Collection.TrackingPlans;
using Cdp.Modules.Pipeline.Contracts;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Cdp.Bench;

/// <summary>
/// Tracking plans on the ingest path: /v1/track and /v1/batch with a 50-event plan in Report mode next to no plan, in the
/// same run and alternated (no plan, plan, plan, no plan) so drift on a noisy machine falls on both; the processor paused,
/// as the collection figures are defined. One batch item in 50 sends revenue as text (a violation, recorded). Plus the
/// check alone on one thread: what a call costs the request thread.
/// </summary>
internal sealed class TrackingPlanBench : IBenchScenario
{
    private const string WriteKey = IngestBench.WriteKey;
    private const int Concurrency = 256;
    private const int PlannedEvents = 50;

    public string Name => "trackingplan";

    public async Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        var duration = context.Duration(10);
        var planFile = Path.Combine(context.WorkFolder, "plan.json");
        await File.WriteAllTextAsync(planFile, Plan());
        var external = WrkLoad.Available;
        var trackTemplate = Encoding.UTF8.GetString(IngestBench.TrackTemplate).Replace("Page Viewed", "Event 07");
        Task<LoadGenerator.Result> Track(WebApplication app) => external
            ? WrkLoad.RunAsync(Address(app), "/v1/track", WriteKey, Concurrency, duration, trackTemplate, context.WorkFolder)
            : LoadGenerator.RunAsync(Address(app), "/v1/track", WriteKey, Concurrency, duration, n => Encoding.UTF8.GetBytes(trackTemplate.Replace("{n}", n.ToString())));
        Task<LoadGenerator.Result> Batch(WebApplication app) => LoadGenerator.RunAsync(Address(app), "/v1/batch", WriteKey, 8, duration, BatchBody);

        // the process's first host runs cold (JIT tiers, the thread pool's growth): warm both paths, then measure
        await using (var warm = await StartAsync(Path.Combine(context.WorkFolder, "warm-up"), planFile))
        {
            await warm.Services.GetRequiredService<IProfileProcessor>().PauseAsync(CancellationToken.None);
            await Track(warm);
            await Batch(warm);
            await warm.StopAsync();
        }

        double trackBare = 0, trackPlan = 0, batchBare = 0, batchPlan = 0;
        long recorded = 0;
        for (var round = 0; round < 2; round++)
        {
            foreach (var withPlan in round == 0 ? new[] { false, true } : [true, false]) // ABBA: a drift (warm-up, a neighbour) falls on both
            {
                await using var cdp = await StartAsync(Path.Combine(context.WorkFolder, $"r{round}-{withPlan}"), withPlan ? planFile : null);
                await cdp.Services.GetRequiredService<IProfileProcessor>().PauseAsync(CancellationToken.None);
                var t = (await Track(cdp)).RequestsPerSecond;
                var b = (await Batch(cdp)).RequestsPerSecond * 500;
                if (withPlan)
                {
                    trackPlan += t / 2; batchPlan += b / 2;
                    recorded += cdp.Services.GetRequiredService<ViolationLog>().Totals.Sum(x => x.Count);
                }
                else
                {
                    trackBare += t / 2; batchBare += b / 2;
                }
                Console.WriteLine($"   round {round + 1}, {(withPlan ? "plan" : "no plan")}: /v1/track {t:N0} events/s, /v1/batch {b:N0} events/s");
                await cdp.StopAsync();
            }
        }

        // the check alone, on one thread
        var plan = TrackingPlan.Parse("bench", JsonDocument.Parse(Plan()).RootElement);
        using var valid = JsonDocument.Parse("{\"type\":\"track\"," + trackTemplate.Replace("{n}", "1")[1..]);
        using var invalid = JsonDocument.Parse("{\"type\":\"track\"," + trackTemplate.Replace("{n}", "1").Replace("\"properties\":{", "\"properties\":{\"revenue\":\"12.50 EUR\",")[1..]);
        double NsPerCheck(JsonElement call)
        {
            for (var i = 0; i < 2_000; i++) plan.Check(call);
            var n = context.Quick ? 20_000 : 200_000;
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < n; i++) plan.Check(call);
            return sw.Elapsed.TotalMilliseconds * 1e6 / n;
        }
        var validNs = NsPerCheck(valid.RootElement);
        var invalidNs = NsPerCheck(invalid.RootElement);

        // what the plan adds to each event, in CPU time: the 2 cores are saturated in both runs
        double CostUs(double bare, double planned) => Environment.ProcessorCount * (1 / planned - 1 / bare) * 1e6;
        return
        [
            new BenchFigure("/v1/track, no plan", trackBare, "events/s"),
            new BenchFigure("/v1/track, 50-event plan (Report)", trackPlan, "events/s", CeilingName: "no plan", Ceiling: trackBare, RatioTarget: 0.9),
            new BenchFigure("/v1/track: the plan's cost per event (2 cores x time)", CostUs(trackBare, trackPlan), "µs", LowerIsBetter: true),
            new BenchFigure("/v1/batch, no plan", batchBare, "events/s"),
            new BenchFigure("/v1/batch, 50-event plan (Report, 2% violations)", batchPlan, "events/s", CeilingName: "no plan", Ceiling: batchBare, RatioTarget: 0.8),
            new BenchFigure("/v1/batch: the plan's cost per event (2 cores x time)", CostUs(batchBare, batchPlan), "µs", LowerIsBetter: true),
            new BenchFigure("violations recorded in the plan runs", recorded, "violations"),
            new BenchFigure("check of a valid call, one thread", validNs / 1000, "µs", LowerIsBetter: true),
            new BenchFigure("check of a call with an invalid revenue, one thread", invalidNs / 1000, "µs", CeilingName: "a valid call", Ceiling: validNs / 1000, LowerIsBetter: true),
        ];
    }

    /// <summary>50 planned events, each with six typed properties (path required), identify traits with an enum.</summary>
    private static string Plan()
    {
        var events = Enumerable.Range(0, PlannedEvents).Select(i => $$$"""
            "Event {{{i:D2}}}": {"description": "bench event {{{i}}}", "properties": {"type": "object", "properties": {
              "path": {"type": "string"}, "title": {"type": "string"}, "referrer": {"type": "string"}, "url": {"type": "string"},
              "plan": {"enum": ["free", "gold"]}, "revenue": {"type": "number", "minimum": 0}}, "required": ["path"]}}
            """);
        return "{\"events\": {" + string.Join(",", events) + "}, \"identifyTraits\": {\"type\": \"object\", \"properties\": {\"email\": {\"type\": \"string\"}, \"plan\": {\"enum\": [\"free\", \"gold\"]}}}}";
    }

    private static byte[] BatchBody(long n) => BatchTemplate.Value.Make(n);

    private static readonly Lazy<IngestBench.PatchedBody> BatchTemplate = new(() =>
    {
        var sb = new StringBuilder("{\"batch\":[");
        var item = "{\"type\":\"track\"," + Encoding.UTF8.GetString(IngestBench.TrackTemplate)[1..];
        for (var i = 0; i < 500; i++)
        {
            if (i > 0) sb.Append(',');
            var call = item.Replace("{n}", IngestBench.PatchedBody.Slot + "-" + i.ToString("D3")).Replace("Page Viewed", $"Event {i % PlannedEvents:D2}");
            if (i % 50 == 49) call = call.Replace("\"properties\":{", "\"properties\":{\"revenue\":\"12.50 EUR\",");
            sb.Append(call);
        }
        return new IngestBench.PatchedBody(Encoding.UTF8.GetBytes(sb.Append("]}").ToString()));
    });

    private static async Task<WebApplication> StartAsync(string folder, string? planFile)
    {
        Directory.CreateDirectory(folder);
        var builder = CdpApp.CreateBuilder([
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            $"--Cdp:Storage:Path={Path.Combine(folder, "cdp.db")}",
            "--Cdp:Storage:DurableCommits=false",
            $"--Cdp:Sources:bench:WriteKey={WriteKey}",
            "--Cdp:Collection:QueueCapacity=1000000",
            .. planFile is null ? Array.Empty<string>() : [$"--Cdp:TrackingPlans:bench:File={planFile}", "--Cdp:Sources:bench:TrackingPlan=bench"],
        ]);
        builder.Logging.ClearProviders();
        var app = CdpApp.Build(builder);
        await app.StartAsync();
        return app;
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
}
