namespace Cdp.Modules.Matching.Engine;

/// <summary>Pair counts against ground truth; precision 1 when nothing is predicted, recall 1 when nothing is true.</summary>
internal sealed record PairCounts(long TruePositives, long Predicted, long Actual)
{
    public double Precision => Predicted == 0 ? 1 : (double)TruePositives / Predicted;

    public double Recall => Actual == 0 ? 1 : (double)TruePositives / Actual;

    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);
}

/// <summary>
/// Accuracy against ground truth over unordered record pairs (cross-source pairs only when linking).
/// Pairwise counts the predicted pairs themselves; clustered first takes their transitive closure
/// (connected components) and counts every pair inside a component.
/// </summary>
internal static class LinkageEvaluation
{
    public static PairCounts Pairwise(ScoredPairs pairs, double minWeight, int[] truth, int[] sources, LinkType linkType)
    {
        long predicted = 0, correct = 0;
        for (var i = 0; i < pairs.Count; i++)
        {
            if (pairs.Weight[i] < minWeight) continue;
            predicted++;
            if (truth[pairs.Left[i]] == truth[pairs.Right[i]]) correct++;
        }
        return new PairCounts(correct, predicted, TruePairs(truth, sources, linkType));
    }

    public static PairCounts Clustered(int[] clusters, int[] truth, int[] sources, LinkType linkType)
    {
        var predicted = PairsWithin(clusters.Length, r => clusters[r], sources, linkType);
        var correct = PairsWithin(clusters.Length, r => ((long)clusters[r] << 32) | (uint)truth[r], sources, linkType);
        return new PairCounts(correct, predicted, TruePairs(truth, sources, linkType));
    }

    /// <summary>How many true pairs blocking let through (the recall ceiling of everything after it).</summary>
    public static PairCounts Blocking(CandidatePairs candidates, int[] truth, int[] sources, LinkType linkType)
    {
        long correct = 0;
        for (var i = 0; i < candidates.Count; i++)
            if (truth[candidates.Left[i]] == truth[candidates.Right[i]]) correct++;
        return new PairCounts(correct, candidates.Count, TruePairs(truth, sources, linkType));
    }

    public static long TruePairs(int[] truth, int[] sources, LinkType linkType) =>
        PairsWithin(truth.Length, r => truth[r], sources, linkType);

    /// <summary>
    /// Unordered pairs of records with the same group (cross-source pairs only when linking), counted per group in one pass:
    /// n(n-1)/2 per group, or (n² - Σ per source²)/2 when linking. Linear, so a threshold sweep can call it per threshold.
    /// </summary>
    private static long PairsWithin(int records, Func<int, long> group, int[] sources, LinkType linkType)
    {
        var sizes = new Dictionary<long, long>(records);
        Dictionary<(long, int), long>? perSource = linkType == LinkType.Dedupe ? null : new(records);
        for (var r = 0; r < records; r++)
        {
            var g = group(r);
            sizes[g] = sizes.GetValueOrDefault(g) + 1;
            if (perSource is not null) perSource[(g, sources[r])] = perSource.GetValueOrDefault((g, sources[r])) + 1;
        }
        if (perSource is null) return sizes.Values.Sum(n => n * (n - 1) / 2);
        var all = sizes.Values.Sum(n => n * n);
        var sameSource = perSource.Values.Sum(n => n * n);
        return (all - sameSource) / 2;
    }

    /// <summary>Truth labels as small integers, so records compare by int.</summary>
    public static int[] Labels(IEnumerable<string> truth)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        return [.. truth.Select(t => ids.TryGetValue(t, out var id) ? id : ids[t] = ids.Count)];
    }
}
