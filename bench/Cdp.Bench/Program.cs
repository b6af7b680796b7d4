using System.Reflection;
using System.Text.Json;
using Cdp.Bench;

// dotnet run -c Release --project bench/Cdp.Bench -- [--quick] [--only name,name] [--out bench/results.json]
var quick = args.Contains("--quick");
var only = ArgValue("--only")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
var outPath = ArgValue("--out") ?? Path.Combine("bench", "results.json");

var scenarios = Assembly.GetExecutingAssembly().GetTypes()
    .Where(t => typeof(IBenchScenario).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IBenchScenario)Activator.CreateInstance(t)!)
    .Where(s => only is null || only.Contains(s.Name, StringComparer.OrdinalIgnoreCase))
    .OrderBy(s => s.Name, StringComparer.Ordinal)
    .ToList();

Console.WriteLine($"Cdp benchmark: {Environment.ProcessorCount} cores, {(quick ? "quick" : "full")} run, {DateTime.UtcNow:u}");
var results = new List<object>();
var all = new List<BenchFigure>();
foreach (var scenario in scenarios)
{
    var folder = Path.Combine(Path.GetTempPath(), "cdp-bench", scenario.Name + "-" + Guid.NewGuid().ToString("N")[..8]);
    Directory.CreateDirectory(folder);
    Console.WriteLine($"\n== {scenario.Name}");
    try
    {
        var figures = await scenario.RunAsync(new BenchContext(folder, quick));
        foreach (var f in figures) Print(f);
        all.AddRange(figures);
        results.Add(new { scenario = scenario.Name, figures = figures.Select(f => new { f.Name, f.Value, f.Unit, f.Target, f.CeilingName, f.Ceiling, f.Ratio, f.RatioTarget, f.MeetsTarget }) });
    }
    catch (Exception ex)
    {
        Console.WriteLine($"   FAILED: {ex}");
        results.Add(new { scenario = scenario.Name, error = ex.Message });
    }
    finally
    {
        try { Directory.Delete(folder, true); } catch (IOException) { }
    }
}

Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(new { at = DateTime.UtcNow, cores = Environment.ProcessorCount, quick, results }, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"\n{all.Count(f => f.MeetsTarget == true)} of {all.Count(f => f.MeetsTarget is not null)} figures meet their targets; written to {outPath}");
return 0;

static void Print(BenchFigure f)
{
    var verdict = f.MeetsTarget switch { true => "ok ", false => "MISS", null => "    " };
    var target = f.Target is { } t ? $" (target {(f.LowerIsBetter ? "<=" : ">=")} {Number(t)})" : "";
    var ratio = f.Ratio is { } r ? $" | {f.CeilingName} {Number(f.Ceiling!.Value)} {f.Unit} -> ratio {r:0.00}{(f.RatioTarget is { } rt ? $" (target {(f.LowerIsBetter ? "<=" : ">=")} {rt:0.00})" : "")}" : "";
    Console.WriteLine($" {verdict} {f.Name,-44} {Number(f.Value),14} {f.Unit}{target}{ratio}");
}

// Small figures (seconds, F1) need decimals; large ones (events/s) do not.
static string Number(double value) => Math.Abs(value) < 10 ? value.ToString("N4") : Math.Abs(value) < 1000 ? value.ToString("N1") : value.ToString("N0");

string? ArgValue(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
