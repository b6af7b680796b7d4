using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Cdp.Modules.Matching.Engine;

/// <summary>One expectation-maximisation run: the pairs it saw, the comparisons it left out, what it found.</summary>
internal sealed record TrainingSession(
    string Name,
    long Pairs,
    int Iterations,
    bool Converged,
    double Lambda,
    bool[] Ignored,
    double[][] M,
    double[] Support);

/// <summary>Level frequencies among random comparable pairs ([comparison][level], level 0 unused) and the pairs counted per comparison.</summary>
internal sealed record RandomPairLevels(double[][] Frequencies, long[] Sampled);

/// <summary>Distinct comparison vectors of the candidates with their counts: per rule (pairs sharing its keys), all, and by the rule that found them.</summary>
internal sealed record VectorCounts(Dictionary<ulong, long>[] PerRule, Dictionary<ulong, long> Union, Dictionary<ulong, long>[] FoundBy)
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static VectorCounts Of(ComparisonPlan plan, CandidatePairs candidates, ulong[] patterns)
    {
        var rules = plan.BlockingRules.Length;
        var perRule = Enumerable.Range(0, rules).Select(_ => new Dictionary<ulong, long>()).ToArray();
        var foundBy = Enumerable.Range(0, rules).Select(_ => new Dictionary<ulong, long>()).ToArray();
        var union = new Dictionary<ulong, long>();
        for (var i = 0; i < candidates.Count; i++)
        {
            var pattern = patterns[i];
            Add(union, pattern);
            Add(foundBy[candidates.Rule[i]], pattern);
            for (var r = 0; r < rules; r++)
                if (candidates.SharesKey(r, candidates.Left[i], candidates.Right[i])) Add(perRule[r], pattern);
        }
        return new VectorCounts(perRule, union, foundBy);

        static void Add(Dictionary<ulong, long> counts, ulong pattern) =>
            System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counts, pattern, out _)++;
    }
}

/// <summary>
/// Fellegi-Sunter parameters: u from random record pairs, m and the prior by expectation-maximisation on the
/// blocked pairs (u held fixed), as Splink does.
/// </summary>
internal static class ParameterEstimation
{
    /// <summary>A training session on fewer blocked pairs than this says too little to be averaged in.</summary>
    private const int MinSessionPairs = 20;

    /// <summary>No m probability goes below this: one unseen level must not veto a pair outright (log2 1e-6 = -20).</summary>
    private const double MinM = 1e-6;

    /// <summary>Parallel work items of the sampling (counts are summed, so the result does not depend on scheduling).</summary>
    private const int SampleChunks = 64;

    /// <summary>
    /// The level frequencies among random comparable pairs (or all of them when there are fewer than
    /// <paramref name="samplePairs"/>), with one pseudo-count per level so none is zero: the first estimate of u.
    /// </summary>
    public static RandomPairLevels EstimateU(PairComparer comparer, LinkType linkType, int samplePairs, int seed)
    {
        var records = comparer.Records;
        var n = records.Count;
        var comparisons = comparer.ComparisonCount;
        var counts = new long[comparisons * MatchingLimits.MaxLevels];
        var comparable = Blocking.ComparablePairs(n, records.Sources, linkType);
        var sync = new object();

        if (comparable <= samplePairs)
        {
            Parallel.For(0, n, () => new long[counts.Length], (a, _, local) =>
            {
                for (var b = a + 1; b < n; b++)
                {
                    if (linkType == LinkType.Link && records.Sources[a] == records.Sources[b]) continue;
                    Count(comparer.Compare(a, b), local, comparisons);
                }
                return local;
            }, local => Merge(local));
        }
        else
        {
            // Records in a random order, copied so, and each compared with the next few in that order: every pair
            // is a uniformly random pair, and both records stream through the cache instead of being fetched at random.
            var order = Enumerable.Range(0, n).ToArray();
            new Random(seed).Shuffle(order);
            var shuffled = new PairComparer(records.Reordered(order));
            var sources = shuffled.Records.Sources;
            var crossShare = (double)comparable / ((long)n * (n - 1) / 2);
            var window = (int)Math.Min((n - 1) / 2, Math.Ceiling(samplePairs / (n * crossShare)));
            Parallel.ForEach(Partitioner.Create(0, n, Math.Max(64, n / SampleChunks)), () => new long[counts.Length], (range, _, local) =>
            {
                for (var a = range.Item1; a < range.Item2; a++)
                {
                    for (var d = 1; d <= window; d++)
                    {
                        var b = a + d < n ? a + d : a + d - n;
                        if (linkType == LinkType.Link && sources[a] == sources[b]) continue;
                        Count(shuffled.Compare(a, b), local, comparisons);
                    }
                }
                return local;
            }, local => Merge(local));
        }

        var levels = records.Plan.Comparisons.Select(c => c.Levels.Length).ToArray();
        var u = new double[comparisons][];
        var sampled = new long[comparisons];
        for (var c = 0; c < comparisons; c++)
        {
            u[c] = new double[levels[c]];
            u[c][0] = 1;
            for (var l = 1; l < levels[c]; l++) sampled[c] += counts[c * MatchingLimits.MaxLevels + l];
            for (var l = 1; l < levels[c]; l++)
                u[c][l] = (counts[c * MatchingLimits.MaxLevels + l] + 1.0) / (sampled[c] + levels[c] - 1.0);
        }
        return new RandomPairLevels(u, sampled);

        void Merge(long[] local)
        {
            lock (sync)
                for (var i = 0; i < counts.Length; i++) counts[i] += local[i];
        }
    }

    private static void Count(ulong pattern, long[] counts, int comparisons)
    {
        for (var c = 0; c < comparisons; c++)
            counts[c * MatchingLimits.MaxLevels + PairComparer.LevelOf(pattern, c)]++;
    }

    /// <summary>
    /// m, u and the prior. Random pairs include a few matches (lambda of them), which inflates u exactly where it
    /// matters, on the agreement levels of identifying fields; so after a first fit u is corrected,
    /// u = (p - lambda m) / (1 - lambda) with p the random-pair frequency, and m and the prior are fitted again.
    /// </summary>
    public static MatchModel Train(ComparisonPlan plan, CandidatePairs candidates, ulong[] patterns, RandomPairLevels random)
    {
        var levels = plan.Comparisons.Select(c => c.Levels.Length).ToArray();
        var vectors = VectorCounts.Of(plan, candidates, patterns);
        var model = TrainWithU(plan, candidates, vectors, random.Frequencies, InitialM(levels));
        for (var round = 0; round < UCorrectionRounds; round++)
        {
            var u = random.Frequencies.Select((p, c) => CorrectU(p, model.M[c], model.Lambda, random.Sampled[c])).ToArray();
            model = TrainWithU(plan, candidates, vectors, u, model.M); // warm start: u moved a little, m will too
        }
        return model;
    }

    /// <summary>Each round is a refit on the distinct comparison vectors (milliseconds).</summary>
    private const int UCorrectionRounds = 2;

    private static double[] CorrectU(double[] frequency, double[] m, double lambda, long sampled)
    {
        var floor = 1.0 / (sampled + frequency.Length);
        var u = new double[frequency.Length];
        u[0] = 1;
        double sum = 0;
        for (var l = 1; l < u.Length; l++) sum += u[l] = Math.Max((frequency[l] - lambda * m[l]) / (1 - lambda), floor);
        for (var l = 1; l < u.Length; l++) u[l] /= sum;
        return u;
    }

    /// <summary>
    /// m and the prior for a given u. One EM session per blocking rule on the pairs that share that rule's keys,
    /// leaving out the comparisons that read a key field (blocking made them agree, so they cannot be learnt there);
    /// each m is the average over the sessions that learnt it, weighted by the expected matched pairs in which the
    /// comparison had values. A comparison no session could learn is learnt on all candidates. Prior: see <see cref="Prior"/>.
    /// </summary>
    private static MatchModel TrainWithU(ComparisonPlan plan, CandidatePairs candidates, VectorCounts vectors, double[][] u, double[][] start)
    {
        var training = plan.Options.Training;
        var comparisons = plan.Comparisons.Length;
        var levels = plan.Comparisons.Select(c => c.Levels.Length).ToArray();
        var sessions = new List<TrainingSession>();
        var (perRule, union, foundBy) = (vectors.PerRule, vectors.Union, vectors.FoundBy);

        var ignoredBy = plan.BlockingRules.Select(rule => plan.Comparisons.Select(c => rule.Keys.Any(k => c.Reads(k.Field))).ToArray()).ToArray();
        var trained = new bool[perRule.Length];
        for (var r = 0; r < perRule.Length; r++)
            trained[r] = perRule[r].Values.Sum() >= MinSessionPairs && !ignoredBy[r].All(x => x);
        // Sessions are independent: one per core, kept in rule order.
        var ruleSessions = new TrainingSession?[perRule.Length];
        Parallel.For(0, perRule.Length, r =>
        {
            if (trained[r])
                ruleSessions[r] = ExpectationMaximisation(plan.BlockingRules[r].Name, perRule[r], levels, u, ignoredBy[r], start, InitialLambda, training.MaxIterations, training.Tolerance, fixM: false);
        });
        sessions.AddRange(ruleSessions.OfType<TrainingSession>());

        var m = Combine(sessions, levels, out var learnt);
        if (learnt.Any(x => !x) && union.Count > 0)
        {
            var all = ExpectationMaximisation("all candidates", union, levels, u, new bool[comparisons], m, InitialLambda, training.MaxIterations, training.Tolerance, fixM: false);
            sessions.Add(all);
            for (var c = 0; c < comparisons; c++)
                if (!learnt[c] && all.Support[c] > 0) m[c] = all.M[c];
        }
        for (var c = 0; c < comparisons; c++) m[c] = Floor(m[c]);

        var lambda = Prior(plan, candidates, foundBy, perRule, union, trained, ignoredBy, levels, m, u, sessions);
        return new MatchModel(plan, lambda, m, u, sessions);
    }

    /// <summary>
    /// The prior: expected matches among the candidates over all comparable pairs. A candidate's chance of being a
    /// match is judged as in the session of the rule that found it: that rule's share of matches (EM on the prior
    /// alone, m fixed) and only the comparisons the rule did not block on, since blocking made the others agree
    /// whatever the truth. (Judging every comparison would count each agreement forced by blocking as evidence.)
    /// </summary>
    private static double Prior(ComparisonPlan plan, CandidatePairs candidates, Dictionary<ulong, long>[] foundBy,
        Dictionary<ulong, long>[] perRule, Dictionary<ulong, long> union, bool[] trained, bool[][] ignoredBy,
        int[] levels, double[][] m, double[][] u, List<TrainingSession> sessions)
    {
        if (candidates.Count == 0) return Math.Clamp(1.0 / Math.Max(2, candidates.ComparablePairs), 1e-12, 0.5);
        var training = plan.Options.Training;
        var comparisons = levels.Length;
        double? unionLambda = null;
        double expected = 0;
        var priorSessions = new TrainingSession?[foundBy.Length];
        Parallel.For(0, foundBy.Length, r =>
        {
            if (trained[r] && foundBy[r].Count > 0)
                priorSessions[r] = ExpectationMaximisation($"prior within {plan.BlockingRules[r].Name}", perRule[r], levels, u, ignoredBy[r], m, InitialLambda, training.MaxIterations, training.Tolerance, fixM: true);
        });
        for (var r = 0; r < foundBy.Length; r++)
        {
            if (foundBy[r].Count == 0) continue;
            double lambda;
            bool[] ignored;
            if (priorSessions[r] is { } session)
            {
                sessions.Add(session);
                (lambda, ignored) = (session.Lambda, ignoredBy[r]);
            }
            else
            {
                if (unionLambda is null)
                {
                    var all = ExpectationMaximisation("prior within all candidates", union, levels, u, new bool[comparisons], m, InitialLambda, training.MaxIterations, training.Tolerance, fixM: true);
                    sessions.Add(all);
                    unionLambda = all.Lambda;
                }
                (lambda, ignored) = (unionLambda.Value, new bool[comparisons]);
            }
            foreach (var (pattern, count) in foundBy[r])
                expected += count * MatchPosterior(pattern, lambda, ignored, m, u);
        }
        return Math.Clamp(expected / Math.Max(1, candidates.ComparablePairs), 1e-12, 0.5);
    }

    private static double MatchPosterior(ulong pattern, double lambda, bool[] ignored, double[][] m, double[][] u)
    {
        var logOdds = Math.Log(lambda / (1 - lambda));
        for (var c = 0; c < ignored.Length; c++)
        {
            var l = PairComparer.LevelOf(pattern, c);
            if (l > 0 && !ignored[c]) logOdds += Math.Log(m[c][l] / u[c][l]);
        }
        return 1 / (1 + Math.Exp(-logOdds));
    }

    /// <summary>Candidate sets are match-rich; EM with fixed u is insensitive to this start.</summary>
    private const double InitialLambda = 0.2;

    /// <summary>Most similar level most likely among matches: m halves with each level down, Else lowest.</summary>
    private static double[][] InitialM(int[] levels) => [.. levels.Select(count =>
    {
        var m = new double[count];
        for (var l = 1; l < count; l++) m[l] = Math.Pow(0.25, l - 1);
        var sum = m.Sum();
        for (var l = 1; l < count; l++) m[l] /= sum;
        return m;
    })];

    private static double[][] Combine(List<TrainingSession> sessions, int[] levels, out bool[] learnt)
    {
        var start = InitialM(levels);
        learnt = new bool[levels.Length];
        var m = new double[levels.Length][];
        for (var c = 0; c < levels.Length; c++)
        {
            var sum = new double[levels[c]];
            double support = 0;
            foreach (var s in sessions.Where(s => !s.Ignored[c] && s.Support[c] > 0))
            {
                for (var l = 1; l < levels[c]; l++) sum[l] += s.M[c][l] * s.Support[c];
                support += s.Support[c];
            }
            learnt[c] = support > 0;
            m[c] = learnt[c] ? [.. sum.Select(x => x / support)] : start[c];
        }
        return m;
    }

    private static double[] Floor(double[] m)
    {
        var floored = m.Select((x, l) => l == 0 ? 0 : Math.Max(x, MinM)).ToArray();
        var sum = floored.Sum();
        return [.. floored.Select(x => x / sum)];
    }

    /// <summary>
    /// EM over distinct comparison vectors with their counts. u is fixed; <paramref name="ignored"/> comparisons
    /// (and Null levels) contribute to neither side. With <paramref name="fixM"/> only the prior is estimated.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static TrainingSession ExpectationMaximisation(
        string name,
        IReadOnlyDictionary<ulong, long> patterns,
        int[] levels,
        double[][] u,
        bool[] ignored,
        double[][] mStart,
        double lambdaStart,
        int maxIterations,
        double tolerance,
        bool fixM)
    {
        var comparisons = levels.Length;
        var vectors = patterns.Keys.ToArray();
        var counts = vectors.Select(p => (double)patterns[p]).ToArray();
        var total = counts.Sum();
        var pattern = new byte[vectors.Length * comparisons];
        var logU = new double[vectors.Length];
        for (var p = 0; p < vectors.Length; p++)
        {
            for (var c = 0; c < comparisons; c++)
            {
                var l = PairComparer.LevelOf(vectors[p], c);
                pattern[p * comparisons + c] = (byte)l;
                if (l > 0 && !ignored[c]) logU[p] += Math.Log(u[c][l]);
            }
        }

        var m = mStart.Select(x => (double[])x.Clone()).ToArray();
        var lambda = lambdaStart;
        var support = new double[comparisons];
        var iterations = 0;
        var converged = false;
        var logM = new double[comparisons][];
        var numerator = levels.Select(l => new double[l]).ToArray();
        while (iterations < maxIterations && !converged)
        {
            iterations++;
            for (var c = 0; c < comparisons; c++)
            {
                logM[c] = [.. m[c].Select(x => Math.Log(Math.Max(x, 1e-300)))];
                Array.Clear(numerator[c]);
            }
            double matched = 0;
            var logLambda = Math.Log(lambda);
            var logNotLambda = Math.Log(1 - lambda);
            for (var p = 0; p < vectors.Length; p++)
            {
                var lm = logLambda;
                for (var c = 0; c < comparisons; c++)
                {
                    var l = pattern[p * comparisons + c];
                    if (l > 0 && !ignored[c]) lm += logM[c][l];
                }
                var weight = counts[p] / (1 + Math.Exp(logNotLambda + logU[p] - lm));
                matched += weight;
                for (var c = 0; c < comparisons; c++) numerator[c][pattern[p * comparisons + c]] += weight;
            }

            var change = 0.0;
            var newLambda = Math.Clamp(matched / total, 1e-9, 1 - 1e-9);
            change = Math.Max(change, Math.Abs(newLambda - lambda));
            lambda = newLambda;
            for (var c = 0; c < comparisons; c++)
            {
                double present = 0;
                for (var l = 1; l < levels[c]; l++) present += numerator[c][l];
                support[c] = ignored[c] ? 0 : present;
                if (fixM || ignored[c] || present <= 0) continue;
                for (var l = 1; l < levels[c]; l++)
                {
                    var next = numerator[c][l] / present;
                    change = Math.Max(change, Math.Abs(next - m[c][l]));
                    m[c][l] = next;
                }
            }
            converged = change < tolerance;
        }
        return new TrainingSession(name, (long)total, iterations, converged, lambda, ignored, m, support);
    }
}
