using System.Collections.Concurrent;
using System.Diagnostics;

namespace Cdp.Modules.Matching.Engine;

/// <summary>
/// Probabilistic matching end to end: encode the records, block, compare the candidate pairs, learn u (random
/// pairs) and m and the prior (EM on the candidates), score, route by the thresholds and cluster the AutoMerge
/// pairs. Stateless apart from the compiled settings; safe to share.
/// </summary>
internal sealed class MatchingEngine(MatchingOptions options)
{
    /// <summary>Pairs per parallel work item: large enough to amortise scheduling, small enough to balance 2 cores.</summary>
    private const int PairsPerChunk = 16_384;

    public ComparisonPlan Plan { get; } = ComparisonPlan.Compile(options);

    /// <summary>
    /// Matches <paramref name="records"/>. With <paramref name="trained"/> (the model of an earlier run with the same
    /// settings) u sampling and EM are skipped and that model scores the pairs: the incremental case, where changed
    /// records are linked against the others without learning again.
    /// </summary>
    public MatchRun Run(IReadOnlyList<MatchRecord> records, LinkType linkType = LinkType.Dedupe, MatchModel? trained = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (trained is not null && trained.Plan != Plan)
            throw new ArgumentException("the trained model comes from other matching settings", nameof(trained));
        var clock = Stopwatch.StartNew();
        var encoded = EncodedRecords.Encode(Plan, records);
        var encode = Lap(clock);

        var candidates = Blocking.FindCandidates(encoded, linkType);
        var blocking = Lap(clock);

        var comparer = new PairComparer(encoded);
        var patterns = CompareCandidates(comparer, candidates);
        var compare = Lap(clock);

        var training = Plan.Options.Training;
        var u = trained is null ? ParameterEstimation.EstimateU(comparer, linkType, training.USamplePairs, training.Seed) : null;
        var sampling = Lap(clock);

        var model = trained ?? ParameterEstimation.Train(Plan, candidates, patterns, u!);
        var em = Lap(clock);

        var scorer = new PairScorer(model, encoded);
        var pairs = Score(scorer, candidates, patterns, Math.Min(Plan.ReviewWeight, Plan.AutoMergeWeight));
        var scoring = Lap(clock);

        var clusters = MatchClusters.Components(encoded.Count, pairs, Plan.AutoMergeWeight);
        var clustering = Lap(clock);

        return new MatchRun
        {
            Records = encoded,
            Candidates = candidates,
            CandidatePatterns = patterns,
            Model = model,
            Scorer = scorer,
            Pairs = pairs,
            Clusters = clusters,
            Timings = new MatchTimings(encode, blocking, compare, sampling, em, scoring, clustering),
        };
    }

    /// <summary>The comparison vector of every candidate pair, in parallel over chunks of the pair list.</summary>
    public static ulong[] CompareCandidates(PairComparer comparer, CandidatePairs candidates)
    {
        var patterns = new ulong[candidates.Count];
        if (candidates.Count == 0) return patterns;
        Parallel.ForEach(Partitioner.Create(0, candidates.Count, PairsPerChunk), range =>
        {
            for (var i = range.Item1; i < range.Item2; i++)
                patterns[i] = comparer.Compare(candidates.Left[i], candidates.Right[i]);
        });
        return patterns;
    }

    /// <summary>Scores the candidates and keeps those at or above <paramref name="minWeight"/>.</summary>
    public static ScoredPairs Score(PairScorer scorer, CandidatePairs candidates, ulong[] patterns, double minWeight)
    {
        var weights = new double[candidates.Count];
        if (candidates.Count > 0)
        {
            Parallel.ForEach(Partitioner.Create(0, candidates.Count, PairsPerChunk), range =>
            {
                for (var i = range.Item1; i < range.Item2; i++)
                    weights[i] = scorer.Weight(patterns[i], candidates.Left[i], candidates.Right[i]);
            });
        }
        var kept = 0;
        foreach (var w in weights)
            if (w >= minWeight) kept++;
        var result = new ScoredPairs
        {
            Count = kept,
            Left = new int[kept],
            Right = new int[kept],
            Weight = new double[kept],
            Pattern = new ulong[kept],
        };
        var k = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            if (weights[i] < minWeight) continue;
            result.Left[k] = candidates.Left[i];
            result.Right[k] = candidates.Right[i];
            result.Weight[k] = weights[i];
            result.Pattern[k] = patterns[i];
            k++;
        }
        return result;
    }

    /// <summary>
    /// Compares and scores EVERY comparable pair (no blocking), in parallel over records: the raw scoring speed
    /// (the benchmark's figure). Returns the pairs scored and how many reached <paramref name="minWeight"/>.
    /// </summary>
    public static (long Scored, long Above) ScoreAllPairs(PairComparer comparer, PairScorer scorer, LinkType linkType, double minWeight)
    {
        var n = comparer.Records.Count;
        var sources = comparer.Records.Sources;
        long scored = 0, above = 0;
        Parallel.For(0, n, () => (Scored: 0L, Above: 0L), (a, _, local) =>
        {
            for (var b = a + 1; b < n; b++)
            {
                if (linkType == LinkType.Link && sources[a] == sources[b]) continue;
                local.Scored++;
                if (scorer.Weight(comparer.Compare(a, b), a, b) >= minWeight) local.Above++;
            }
            return local;
        }, local =>
        {
            Interlocked.Add(ref scored, local.Scored);
            Interlocked.Add(ref above, local.Above);
        });
        return (scored, above);
    }

    private static TimeSpan Lap(Stopwatch clock)
    {
        var elapsed = clock.Elapsed;
        clock.Restart();
        return elapsed;
    }
}
