namespace Cdp.Modules.Matching.Engine;

/// <summary>What happens to a scored pair: merged automatically, put in front of a person, or nothing.</summary>
internal enum MatchRoute
{
    None,
    Review,
    AutoMerge,
}

/// <summary>One comparison's part in a pair's score: a merge record carries these, a review shows them.</summary>
internal sealed record ComparisonWeight(string Comparison, string Level, double Weight, string? LeftValue, string? RightValue);

/// <summary>A scored pair with its explanation: weight = PriorWeight + sum of the comparison weights.</summary>
internal sealed record MatchPairResult(
    string LeftId,
    string RightId,
    double Weight,
    double Probability,
    MatchRoute Route,
    double PriorWeight,
    IReadOnlyList<ComparisonWeight> Comparisons);

/// <summary>Scored pairs kept by a run (struct of arrays; Left &lt; Right are record indexes).</summary>
internal sealed class ScoredPairs
{
    public required int Count { get; init; }

    public required int[] Left { get; init; }

    public required int[] Right { get; init; }

    public required double[] Weight { get; init; }

    public required ulong[] Pattern { get; init; }
}

internal sealed record MatchTimings(
    TimeSpan Encode,
    TimeSpan Blocking,
    TimeSpan Compare,
    TimeSpan U,
    TimeSpan Em,
    TimeSpan Scoring,
    TimeSpan Clustering)
{
    public TimeSpan Total => Encode + Blocking + Compare + U + Em + Scoring + Clustering;
}

/// <summary>The result of one matching run: the trained model, the candidate report, the pairs at or above Review.</summary>
internal sealed class MatchRun
{
    public required EncodedRecords Records { get; init; }

    public required CandidatePairs Candidates { get; init; }

    /// <summary>The comparison vector of every candidate pair (same order as <see cref="Candidates"/>).</summary>
    public required ulong[] CandidatePatterns { get; init; }

    public required MatchModel Model { get; init; }

    public required PairScorer Scorer { get; init; }

    /// <summary>Pairs whose weight reaches the Review threshold (AutoMerge pairs included).</summary>
    public required ScoredPairs Pairs { get; init; }

    /// <summary>Cluster (connected component) of each record over the AutoMerge pairs.</summary>
    public required int[] Clusters { get; init; }

    public required MatchTimings Timings { get; init; }

    public ComparisonPlan Plan => Model.Plan;

    public MatchRoute Route(double weight) => Plan.Route(weight);

    /// <summary>The kept pairs routed at least to <paramref name="atLeast"/>, each with its breakdown.</summary>
    public IEnumerable<MatchPairResult> Results(MatchRoute atLeast = MatchRoute.Review)
    {
        for (var i = 0; i < Pairs.Count; i++)
            if (Route(Pairs.Weight[i]) >= atLeast) yield return Explain(Pairs.Left[i], Pairs.Right[i], Pairs.Pattern[i]);
    }

    public MatchPairResult Explain(int left, int right, ulong pattern)
    {
        var comparisons = new ComparisonWeight[Plan.Comparisons.Length];
        var stride = Plan.SlotCount;
        for (var c = 0; c < comparisons.Length; c++)
        {
            var comparison = Plan.Comparisons[c];
            var level = PairComparer.LevelOf(pattern, c);
            comparisons[c] = new ComparisonWeight(
                comparison.Name,
                comparison.Levels[level].Label,
                Scorer.ComparisonWeight(pattern, c, left),
                ValueOf(c, Records.Values[left * stride + c]),
                ValueOf(c, Records.Values[right * stride + c]));
        }
        var weight = Scorer.Weight(pattern, left, right);
        return new MatchPairResult(Records.Ids[left], Records.Ids[right], weight, MatchProbability.FromWeight(weight), Route(weight), Scorer.PriorWeight, comparisons);

        string? ValueOf(int c, int id) => id < 0 ? null : Records.Tables[c].Value(id);
    }

    /// <summary>Connected components of the kept pairs whose weight reaches <paramref name="minWeight"/>.</summary>
    public int[] ClustersAt(double minWeight) => MatchClusters.Components(Records.Count, Pairs, minWeight);
}

/// <summary>Union-find with path halving and union by size.</summary>
internal sealed class DisjointSets
{
    private readonly int[] _parent;
    private readonly int[] _size;

    public DisjointSets(int count)
    {
        _parent = new int[count];
        _size = new int[count];
        for (var i = 0; i < count; i++)
        {
            _parent[i] = i;
            _size[i] = 1;
        }
    }

    public int Find(int x)
    {
        while (_parent[x] != x)
        {
            _parent[x] = _parent[_parent[x]];
            x = _parent[x];
        }
        return x;
    }

    public bool Union(int a, int b)
    {
        var ra = Find(a);
        var rb = Find(b);
        if (ra == rb) return false;
        if (_size[ra] < _size[rb]) (ra, rb) = (rb, ra);
        _parent[rb] = ra;
        _size[ra] += _size[rb];
        return true;
    }
}

internal static class MatchClusters
{
    /// <summary>Cluster id per record: the transitive closure of the pairs at or above <paramref name="minWeight"/>.</summary>
    public static int[] Components(int records, ScoredPairs pairs, double minWeight)
    {
        var sets = new DisjointSets(records);
        for (var i = 0; i < pairs.Count; i++)
            if (pairs.Weight[i] >= minWeight) sets.Union(pairs.Left[i], pairs.Right[i]);
        var clusters = new int[records];
        for (var r = 0; r < records; r++) clusters[r] = sets.Find(r);
        return clusters;
    }
}
