using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Cdp.Modules.Matching.Engine;

/// <summary>
/// Trained Fellegi-Sunter parameters. A pair's match weight is the prior weight log2(lambda / (1 - lambda)) plus,
/// per comparison, log2(m / u) of its level (0 for Null), with the Exact level of a term-frequency comparison
/// using the value's own frequency instead of u. Match probability = 1 / (1 + 2^-weight).
/// </summary>
internal sealed class MatchModel
{
    public MatchModel(ComparisonPlan plan, double lambda, double[][] m, double[][] u, IReadOnlyList<TrainingSession> sessions)
    {
        Plan = plan;
        Lambda = lambda;
        M = m;
        U = u;
        Sessions = sessions;
        PriorWeight = MatchProbability.ToWeight(lambda);
        Weights = [.. m.Select((mc, c) => mc.Select((x, l) => l == 0 ? 0 : Math.Log2(x / u[c][l])).ToArray())];
    }

    public ComparisonPlan Plan { get; }

    /// <summary>The prior: the probability that two comparable records are the same person.</summary>
    public double Lambda { get; }

    public double PriorWeight { get; }

    /// <summary>[comparison][level] P(level | match); level 0 (Null) is unused.</summary>
    public double[][] M { get; }

    /// <summary>[comparison][level] P(level | not a match); level 0 (Null) is unused.</summary>
    public double[][] U { get; }

    /// <summary>[comparison][level] log2(m / u); 0 for Null.</summary>
    public double[][] Weights { get; }

    public IReadOnlyList<TrainingSession> Sessions { get; }

    /// <summary>The parameters as a table, for the CLI and logs.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"prior lambda {Lambda:G4} (weight {PriorWeight:F2})");
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"comparison",-16} {"level",-34} {"m",9} {"u",11} {"weight",7}");
        for (var c = 0; c < Plan.Comparisons.Length; c++)
        {
            var comparison = Plan.Comparisons[c];
            for (var l = 1; l < comparison.Levels.Length; l++)
            {
                var label = comparison.Levels[l].Label + (comparison.TermFrequency && l == comparison.ExactLevel ? " (tf)" : "");
                sb.AppendLine(CultureInfo.InvariantCulture, $"{(l == 1 ? comparison.Name : ""),-16} {label,-34} {M[c][l],9:F5} {U[c][l],11:G4} {Weights[c][l],7:F2}");
            }
        }
        foreach (var s in Sessions)
            sb.AppendLine(CultureInfo.InvariantCulture, $"EM '{s.Name}': {s.Pairs:N0} pairs, {s.Iterations} iterations{(s.Converged ? "" : " (not converged)")}, lambda {s.Lambda:F4}");
        return sb.ToString();
    }
}

/// <summary>Turns a pair's comparison vector into its match weight; allocation-free, safe to share across threads.</summary>
internal sealed class PairScorer
{
    private readonly double _prior;
    private readonly double[] _weights;
    private readonly double[]?[] _termFrequency;
    private readonly int[] _exactLevel;
    private readonly int[] _values;
    private readonly int _stride;
    private readonly int _comparisons;

    public PairScorer(MatchModel model, EncodedRecords records)
    {
        Model = model;
        _prior = model.PriorWeight;
        _comparisons = model.Weights.Length;
        _weights = new double[_comparisons * MatchingLimits.MaxLevels];
        for (var c = 0; c < _comparisons; c++)
            model.Weights[c].CopyTo(_weights, c * MatchingLimits.MaxLevels);
        _exactLevel = [.. model.Plan.Comparisons.Select(c => c.ExactLevel)];
        _termFrequency = [.. model.Plan.Comparisons.Select((c, i) => c.TermFrequency && c.ExactLevel > 0 ? TermFrequencyWeights(records.Tables[i], model.U[i][c.ExactLevel]) : null)];
        _values = records.Values;
        _stride = records.Plan.SlotCount;
    }

    public MatchModel Model { get; }

    /// <summary>
    /// log2(u_exact / tf(value)): added to the Exact weight it turns log2(m/u_exact) into log2(m/tf(value)),
    /// tf being the share of records with that value (the chance a random other record agrees on it).
    /// </summary>
    private static double[] TermFrequencyWeights(ValueTable table, double uExact)
    {
        var adjustments = new double[table.Count];
        for (var v = 0; v < table.Count; v++)
        {
            var tf = Math.Max(table.Occurrences[v], 1) / (double)Math.Max(table.Present, 1);
            adjustments[v] = Math.Log2(uExact / tf);
        }
        return adjustments;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Weight(ulong pattern, int a, int b)
    {
        var weight = _prior;
        for (var c = 0; c < _comparisons; c++)
        {
            var level = PairComparer.LevelOf(pattern, c);
            weight += _weights[c * MatchingLimits.MaxLevels + level];
            if (level == _exactLevel[c] && _termFrequency[c] is { } tf) weight += tf[_values[a * _stride + c]];
        }
        return weight;
    }

    /// <summary>The weight one comparison contributes to a pair (term-frequency adjustment included).</summary>
    public double ComparisonWeight(ulong pattern, int comparison, int a)
    {
        var level = PairComparer.LevelOf(pattern, comparison);
        var weight = _weights[comparison * MatchingLimits.MaxLevels + level];
        if (level == _exactLevel[comparison] && _termFrequency[comparison] is { } tf) weight += tf[_values[a * _stride + comparison]];
        return weight;
    }

    public double PriorWeight => _prior;
}
