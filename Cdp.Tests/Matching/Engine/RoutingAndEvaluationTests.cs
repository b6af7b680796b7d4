using Cdp.Modules.Matching.Engine;
using static Cdp.Tests.Matching.Engine.MatchingTestSettings;

namespace Cdp.Tests.Matching.Engine;

public sealed class RoutingAndEvaluationTests
{
    [Theory]
    [InlineData(0.999, "AutoMerge")]
    [InlineData(0.99, "AutoMerge")]
    [InlineData(0.9899, "Review")]
    [InlineData(0.8, "Review")]
    [InlineData(0.7999, "None")]
    [InlineData(0.01, "None")]
    public void Thresholds_route_a_pair_by_its_match_probability(double probability, string route)
    {
        var plan = ComparisonPlan.Compile(Options([Comparison("surname", "Name", Level("Exact"))], Rule("surname")));
        plan.Options.Thresholds.AutoMerge.Should().Be(0.99);
        plan.Options.Thresholds.Review.Should().Be(0.8);

        plan.Route(MatchProbability.ToWeight(probability)).ToString().Should().Be(route);
    }

    [Fact]
    public void A_run_routes_every_kept_pair_by_the_thresholds_and_explains_its_weight_comparison_by_comparison()
    {
        var data = EvaluationData.Read(TestData("linkage", "fake_1000.csv"), "unique_id", "cluster", null);
        var (options, error) = EvaluationCommand.LoadSettings(TestData("matching", "fake_1000.json"));
        options.Should().NotBeNull(error);

        var run = new MatchingEngine(options!).Run(data.Records);

        var results = run.Results(MatchRoute.Review).ToList();
        results.Should().Contain(r => r.Route == MatchRoute.AutoMerge).And.Contain(r => r.Route == MatchRoute.Review);
        results.Should().OnlyContain(r => r.Route == (r.Probability >= 0.99 ? MatchRoute.AutoMerge : MatchRoute.Review) && r.Probability >= 0.8);
        results.Should().HaveCount(run.Pairs.Count);
        run.Results(MatchRoute.AutoMerge).Should().OnlyContain(r => r.Route == MatchRoute.AutoMerge);
        var dropped = Enumerable.Range(0, run.Candidates.Count)
            .Count(i => run.Scorer.Weight(run.CandidatePatterns[i], run.Candidates.Left[i], run.Candidates.Right[i]) < run.Plan.ReviewWeight);
        dropped.Should().Be(run.Candidates.Count - run.Pairs.Count).And.BePositive("some candidates route to nothing");
        foreach (var result in results)
        {
            result.Comparisons.Should().HaveCount(5);
            (result.PriorWeight + result.Comparisons.Sum(c => c.Weight)).Should().BeApproximately(result.Weight, 1e-9);
        }
        var swapped = results.First(r => r.LeftId == "11" && r.RightId == "12");
        swapped.Comparisons[0].Should().BeEquivalentTo(new { Comparison = "first_name", Level = "Swapped with surname", LeftValue = "isla", RightValue = "hall" });
    }

    [Theory]
    [InlineData("febrl_dataset1.csv", "febrl.json", "rec_id", null, 0.999)]
    [InlineData("febrl_dataset2.csv", "febrl.json", "rec_id", null, 0.999)]
    [InlineData("fake_1000.csv", "fake_1000.json", "unique_id", "cluster", 0.93)]
    public void Matching_reaches_its_clustered_F1_target_on_the_labelled_data_sets(string file, string settings, string id, string? truth, double target)
    {
        var data = EvaluationData.Read(TestData("linkage", file), id, truth, truth is null ? new(@"^rec-(\d+)-") : null);
        var (options, error) = EvaluationCommand.LoadSettings(TestData("matching", settings));
        options.Should().NotBeNull(error);

        var run = new MatchingEngine(options!).Run(data.Records);

        LinkageEvaluation.Clustered(run.Clusters, data.Truth, run.Records.Sources, LinkType.Dedupe).F1.Should().BeGreaterThanOrEqualTo(target);
    }

    [Fact]
    public void Pairwise_and_clustered_metrics_count_unordered_pairs()
    {
        int[] truth = [0, 0, 0, 1, 1, 2];
        var pairs = new ScoredPairs
        {
            Count = 4,
            Left = [0, 2, 3, 0],
            Right = [1, 3, 4, 2],
            Weight = [10, 10, 10, 1],
            Pattern = new ulong[4],
        };
        var sources = new int[6];

        var pairwise = LinkageEvaluation.Pairwise(pairs, 5, truth, sources, LinkType.Dedupe);
        var clustered = LinkageEvaluation.Clustered(MatchClusters.Components(6, pairs, 5), truth, sources, LinkType.Dedupe);

        pairwise.Should().Be(new PairCounts(TruePositives: 2, Predicted: 3, Actual: 4));
        clustered.Should().Be(new PairCounts(TruePositives: 2, Predicted: 4, Actual: 4)); // {0,1} and {2,3,4}
        clustered.F1.Should().BeApproximately(0.5, 1e-12);
    }

    [Fact]
    public void Linkage_metrics_count_only_pairs_across_sources()
    {
        int[] truth = [0, 0, 0, 1];
        int[] sources = [0, 0, 1, 1];
        int[] clusters = [0, 0, 0, 0];

        var counts = LinkageEvaluation.Clustered(clusters, truth, sources, LinkType.Link);

        counts.Should().Be(new PairCounts(TruePositives: 2, Predicted: 4, Actual: 2));
    }

    [Fact]
    public void Union_find_joins_transitively()
    {
        var sets = new DisjointSets(5);
        sets.Union(0, 1).Should().BeTrue();
        sets.Union(3, 4).Should().BeTrue();
        sets.Union(1, 4).Should().BeTrue();
        sets.Union(0, 3).Should().BeFalse();
        sets.Find(3).Should().Be(sets.Find(0));
        sets.Find(2).Should().NotBe(sets.Find(0));
    }
}

public sealed class MatchingEngineTests
{
    [Fact]
    public void A_trained_model_scores_new_records_without_learning_again()
    {
        var data = EvaluationData.Read(TestData("linkage", "febrl_dataset1.csv"), "rec_id", null, new(@"^rec-(\d+)-"));
        var (options, _) = EvaluationCommand.LoadSettings(TestData("matching", "febrl.json"));
        var engine = new MatchingEngine(options!);
        var first = engine.Run(data.Records);

        var again = engine.Run(data.Records.Take(200).ToList(), LinkType.Dedupe, first.Model);

        again.Model.Should().BeSameAs(first.Model);
        again.Timings.U.Should().BeLessThan(TimeSpan.FromMilliseconds(50));
        again.Results(MatchRoute.AutoMerge).Select(r => (r.LeftId, r.RightId)).Should().BeSubsetOf(
            first.Results(MatchRoute.AutoMerge).SelectMany(r => new[] { (r.LeftId, r.RightId), (r.RightId, r.LeftId) }));
        var otherSettings = new MatchingEngine(EvaluationCommand.LoadSettings(TestData("matching", "febrl.json")).Options!);
        var act = () => otherSettings.Run(data.Records, LinkType.Dedupe, first.Model);
        act.Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void Matching_a_handful_of_records_works(int count)
    {
        var records = Enumerable.Range(0, count).Select(i => Record($"r{i}", ("surname", "smith"), ("dob", "1980-01-01"))).ToList();
        var options = Options([Comparison("surname", "Name", Level("Exact")), Comparison("dob", "Date", Level("Exact"))], Rule("surname"));

        var run = new MatchingEngine(options).Run(records);

        run.Clusters.Should().HaveCount(count);
        run.Candidates.Count.Should().Be(count * (count - 1) / 2);
        double.IsFinite(run.Model.PriorWeight).Should().BeTrue();
    }
}
