namespace Cdp.Bench;

/// <summary>
/// One measured figure, printed next to its ceiling (or reference) measured in the same run, as a ratio,
/// because these machines are noisy: the ratio is the figure to compare across runs.
/// </summary>
public sealed record BenchFigure(
    string Name,
    double Value,
    string Unit,
    double? Target = null,
    string? CeilingName = null,
    double? Ceiling = null,
    double? RatioTarget = null,
    bool LowerIsBetter = false)
{
    public double? Ratio => Ceiling is > 0 ? Value / Ceiling : null;

    public bool? MeetsTarget
    {
        get
        {
            bool? ok = null;
            if (Target is { } t) ok = LowerIsBetter ? Value <= t : Value >= t;
            if (RatioTarget is { } rt && Ratio is { } r) ok = (ok ?? true) && (LowerIsBetter ? r <= rt : r >= rt);
            return ok;
        }
    }
}

/// <summary>A benchmark area (ingest, processing, matching, jobs...). Each runs on its own temp folder.</summary>
public interface IBenchScenario
{
    string Name { get; }

    Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context);
}

public sealed class BenchContext(string workFolder, bool quick)
{
    /// <summary>A folder of this scenario's own, deleted after the run.</summary>
    public string WorkFolder { get; } = workFolder;

    /// <summary>--quick: shorter runs for a smoke check (figures are then indicative only).</summary>
    public bool Quick { get; } = quick;

    public TimeSpan Duration(double seconds) => TimeSpan.FromSeconds(Quick ? Math.Max(1, seconds / 5) : seconds);
}
