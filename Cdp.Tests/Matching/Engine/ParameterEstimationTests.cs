using Cdp.Modules.Matching.Engine;
using static Cdp.Tests.Matching.Engine.MatchingTestSettings;

namespace Cdp.Tests.Matching.Engine;

public sealed class ParameterEstimationTests
{
    [Fact]
    public void EM_recovers_known_m_probabilities_and_prior_from_a_synthetic_population_of_pairs()
    {
        // Three comparisons; level 0 is Null. Pairs are matches with probability 0.3.
        double[][] m = [[0, 0.85, 0.10, 0.05], [0, 0.90, 0.10], [0, 0.70, 0.20, 0.10]];
        double[][] u = [[1, 0.01, 0.04, 0.95], [1, 0.05, 0.95], [1, 0.001, 0.02, 0.979]];
        const double lambda = 0.3;
        var random = new Random(11);
        var patterns = new Dictionary<ulong, long>();
        for (var i = 0; i < 200_000; i++)
        {
            var match = random.NextDouble() < lambda;
            ulong pattern = 0;
            for (var c = 0; c < m.Length; c++)
            {
                var level = random.NextDouble() < 0.1 ? 0 : Draw(match ? m[c] : u[c], random);
                pattern |= (ulong)level << (c * PairComparer.BitsPerLevel);
            }
            patterns[pattern] = patterns.GetValueOrDefault(pattern) + 1;
        }
        double[][] start = [[0, 0.4, 0.3, 0.3], [0, 0.5, 0.5], [0, 0.4, 0.3, 0.3]];

        var session = ParameterEstimation.ExpectationMaximisation("synthetic", patterns, [4, 3, 4], u, new bool[3], start, 0.5, 500, 1e-7, fixM: false);

        session.Converged.Should().BeTrue();
        session.Lambda.Should().BeApproximately(lambda, 0.01);
        for (var c = 0; c < m.Length; c++)
            for (var l = 1; l < m[c].Length; l++)
                session.M[c][l].Should().BeApproximately(m[c][l], 0.015, $"m of comparison {c} level {l}");
    }

    [Fact]
    public void Training_on_blocked_records_recovers_m_u_and_the_prior_of_a_known_duplication_process()
    {
        // 2,000 people, each with one duplicate that keeps each field with a known probability, else takes a random value.
        string[] fields = ["f1", "f2", "f3", "f4"];
        int[] vocabulary = [40, 100, 1_000, 1_000_000];
        double[] kept = [0.90, 0.80, 0.85, 0.95];
        var random = new Random(21);
        var records = new List<MatchRecord>();
        for (var p = 0; p < 2_000; p++)
        {
            var original = fields.Select((f, i) => i == 3 ? $"id{p}" : $"v{random.Next(vocabulary[i])}").ToArray();
            var duplicate = original.Select((v, i) => random.NextDouble() < kept[i] ? v : i == 3 ? $"other{random.Next(vocabulary[i])}" : $"v{random.Next(vocabulary[i])}").ToArray();
            records.Add(Record($"p{p}", [.. fields.Select((f, i) => (f, (string?)original[i]))]));
            records.Add(Record($"p{p}-dup", [.. fields.Select((f, i) => (f, (string?)duplicate[i]))]));
        }
        var options = Options(fields.Select(f => Comparison(f, "Text", Level("Exact"))), Rule("f4"), Rule("f3"), Rule("f1", "f2"));

        var model = new MatchingEngine(options).Run(records).Model;

        for (var i = 0; i < fields.Length; i++)
        {
            var expectedM = kept[i] + (1 - kept[i]) / vocabulary[i];
            model.M[i][1].Should().BeApproximately(expectedM, 0.03, $"m(exact) of {fields[i]}");
        }
        model.U[0][1].Should().BeApproximately(1.0 / 40, 0.1 / 40, "u(exact) of f1");
        model.U[1][1].Should().BeApproximately(1.0 / 100, 0.15 / 100, "u(exact) of f2");
        model.U[3][1].Should().BeLessThan(1e-4, "ids agree by chance almost never (what is left is sampling noise around 0)");
        var truePrior = 2_000.0 / (4_000.0 * 3_999 / 2);
        model.Lambda.Should().BeApproximately(truePrior, truePrior * 0.1);
        model.Sessions.Where(s => s.Name != "prior").Should().OnlyContain(s => s.Converged);
    }

    private static int Draw(double[] probabilities, Random random)
    {
        var x = random.NextDouble();
        for (var l = 1; l < probabilities.Length; l++)
        {
            x -= probabilities[l];
            if (x < 0) return l;
        }
        return probabilities.Length - 1;
    }
}
