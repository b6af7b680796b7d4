namespace Cdp.Modules.Identity.Matching;

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
        var records = Enumerable.Range(0, clusters.Length).ToArray();
        var predicted = records.GroupBy(r => clusters[r]).Sum(g => PairsIn(g, sources, linkType));
        var correct = records.GroupBy(r => (clusters[r], truth[r])).Sum(g => PairsIn(g, sources, linkType));
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
        Enumerable.Range(0, truth.Length).GroupBy(r => truth[r]).Sum(g => PairsIn(g, sources, linkType));

    private static long PairsIn(IEnumerable<int> members, int[] sources, LinkType linkType)
    {
        var list = members as ICollection<int> ?? [.. members];
        long n = list.Count;
        if (linkType == LinkType.Dedupe) return n * (n - 1) / 2;
        var sameSource = list.GroupBy(r => sources[r]).Sum(g => (long)g.Count() * g.Count());
        return (n * n - sameSource) / 2;
    }

    /// <summary>Truth labels as small integers, so records compare by int.</summary>
    public static int[] Labels(IEnumerable<string> truth)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        return [.. truth.Select(t => ids.TryGetValue(t, out var id) ? id : ids[t] = ids.Count)];
    }
}
