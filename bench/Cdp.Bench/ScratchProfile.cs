using System.Diagnostics;
using Cdp.Modules.Identity.Matching;
namespace Cdp.Bench;
public sealed class ScratchProfile : IBenchScenario
{
    public string Name => "Scratch";
    public Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        var (opt, _) = EvaluationCommand.LoadSettings("/work/wt-matching/bench/matching/febrl.json");
        var data = EvaluationData.Read("/work/wt-matching/Cdp.Tests/TestData/linkage/febrl_dataset2.csv", "rec_id", null, new(@"^rec-(\d+)-"));
        var (l, r, _) = SyntheticLinkage.Make(data, 7);
        var records = l.Concat(r).ToList();
        var plan = ComparisonPlan.Compile(opt!);
        var figures = new List<BenchFigure>();
        for (var rep = 0; rep < 5; rep++)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime; var clock = Stopwatch.StartNew();
            var enc = EncodedRecords.Encode(plan, records);
            figures.Add(new BenchFigure("encode", (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds, "cpu ms", CeilingName: "wall", Ceiling: clock.Elapsed.TotalMilliseconds));
            cpu = Process.GetCurrentProcess().TotalProcessorTime; clock.Restart();
            var cand = Blocking.FindCandidates(enc, LinkType.Link);
            figures.Add(new BenchFigure("blocking", (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds, "cpu ms", CeilingName: "wall", Ceiling: clock.Elapsed.TotalMilliseconds));
            cpu = Process.GetCurrentProcess().TotalProcessorTime; clock.Restart();
            var u = ParameterEstimation.EstimateU(new PairComparer(enc), LinkType.Link, 300_000, 1);
            figures.Add(new BenchFigure("u 300k", (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds, "cpu ms", CeilingName: "wall", Ceiling: clock.Elapsed.TotalMilliseconds));
        }
        return Task.FromResult<IReadOnlyList<BenchFigure>>(figures);
    }
}
