using System.Globalization;

namespace Cdp.Modules.Matching.Engine;

/// <summary>
/// One threshold of the sweep: the candidate pairs whose weight reaches it, and (with ground truth) their pairwise
/// and clustered accuracy. <see cref="Band"/> marks the configured Review and AutoMerge thresholds.
/// </summary>
internal sealed record SweepRow(double Weight, MatchRoute? Band, long Pairs, PairCounts? Pairwise, PairCounts? Clustered);

/// <summary>
/// The threshold sweep of <c>match evaluate</c>: every candidate pair scored (not only those the run keeps at or above
/// Review), and thresholds at round match weights from the lowest candidate score to the highest, plus the configured
/// Review and AutoMerge thresholds, so a user can choose thresholds on labelled data over the whole range.
/// </summary>
internal static class ThresholdSweep
{
    /// <summary>At most this many round thresholds (plus the two configured ones): one screen.</summary>
    public const int MaxSteps = 16;

    public static IReadOnlyList<SweepRow> Of(MatchRun run, int[]? truth, LinkType linkType)
    {
        var all = MatchingEngine.Score(run.Scorer, run.Candidates, run.CandidatePatterns, double.NegativeInfinity);
        var plan = run.Plan;
        var thresholds = new List<(double Weight, MatchRoute? Band)>(Steps(all).Select(w => (w, (MatchRoute?)null)))
        {
            (plan.ReviewWeight, MatchRoute.Review),
            (plan.AutoMergeWeight, MatchRoute.AutoMerge),
        };
        thresholds.Sort((a, b) => a.Weight != b.Weight ? a.Weight.CompareTo(b.Weight) : (a.Band ?? MatchRoute.None).CompareTo(b.Band ?? MatchRoute.None));
        var sources = run.Records.Sources;
        return thresholds.Select(SweepRow (t) =>
        {
            long pairs = 0;
            for (var i = 0; i < all.Count; i++)
                if (all.Weight[i] >= t.Weight) pairs++;
            if (truth is null) return new SweepRow(t.Weight, t.Band, pairs, null, null);
            var clusters = MatchClusters.Components(run.Records.Count, all, t.Weight);
            return new SweepRow(t.Weight, t.Band, pairs,
                LinkageEvaluation.Pairwise(all, t.Weight, truth, sources, linkType),
                LinkageEvaluation.Clustered(clusters, truth, sources, linkType));
        }).ToList();
    }

    /// <summary>
    /// Round weights (a step of 1, 2 or 5 times a power of ten) from the highest multiple of the step at or below the
    /// lowest finite score (every candidate) to the highest at or below the highest score (at least one pair).
    /// </summary>
    internal static double[] Steps(ScoredPairs all)
    {
        double low = double.PositiveInfinity, high = double.NegativeInfinity;
        for (var i = 0; i < all.Count; i++)
        {
            var w = all.Weight[i];
            if (!double.IsFinite(w)) continue;
            low = Math.Min(low, w);
            high = Math.Max(high, w);
        }
        if (low > high) return [];
        var step = RoundStep((high - low) / (MaxSteps - 1));
        var first = Math.Floor(low / step);
        var last = Math.Floor(high / step);
        return [.. Enumerable.Range(0, (int)(last - first) + 1).Select(k => (first + k) * step)];
    }

    private static double RoundStep(double raw)
    {
        if (!(raw > 0)) return 1;
        var power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        foreach (var m in new[] { 1.0, 2, 5, 10 })
            if (m * power >= raw) return m * power;
        return 10 * power;
    }

    public static void Print(IReadOnlyList<SweepRow> rows, int candidates, TextWriter output)
    {
        var labelled = rows.Count > 0 && rows[0].Pairwise is not null;
        output.WriteLine(FormattableString.Invariant($"threshold sweep over all {candidates:N0} candidate pairs (weight: log2 odds of a match; p: match probability):"));
        output.WriteLine(labelled
            ? FormattableString.Invariant($"  {"weight",7} {"p",10} {"pairs",10} {"precision",9} {"recall",7} {"F1",7} {"clustered F1",12}")
            : FormattableString.Invariant($"  {"weight",7} {"p",10} {"pairs",10}"));
        var best = labelled ? rows.MaxBy(r => r.Clustered!.F1) : null;
        foreach (var r in rows)
        {
            var marks = string.Join(", ", new[] { r.Band?.ToString(), ReferenceEquals(r, best) ? "best clustered F1" : null }.OfType<string>());
            var text = labelled
                ? FormattableString.Invariant($"  {r.Weight,7:F2} {ProbabilityText(r.Weight),10} {r.Pairs,10:N0} {r.Pairwise!.Precision,9:F4} {r.Pairwise.Recall,7:F4} {r.Pairwise.F1,7:F4} {r.Clustered!.F1,12:F4}")
                : FormattableString.Invariant($"  {r.Weight,7:F2} {ProbabilityText(r.Weight),10} {r.Pairs,10:N0}");
            output.WriteLine(marks.Length == 0 ? text : $"{text}  {marks}");
        }
    }

    /// <summary>
    /// A weight's match probability in a form that still tells values near 0 or 1 apart: 1-2.0e-05 rather than 1.0000
    /// (1 - p computed from the weight, where a double holding p would round to 1).
    /// </summary>
    internal static string ProbabilityText(double weight)
    {
        var p = MatchProbability.FromWeight(weight);
        if (p < 0.001) return p.ToString("0.0e+00", CultureInfo.InvariantCulture);
        if (p <= 0.999) return p.ToString("0.####", CultureInfo.InvariantCulture);
        return "1-" + (1.0 / (1.0 + Math.Pow(2, weight))).ToString("0.0e+00", CultureInfo.InvariantCulture);
    }
}
