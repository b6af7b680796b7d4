using Cdp.Modules.Matching.Engine;
using static Cdp.Tests.Matching.Engine.MatchingTestSettings;

namespace Cdp.Tests.Matching.Engine;

public sealed class BlockingTests
{
    private static readonly MatchingOptions Settings = Options(
        [Comparison("surname", "Name", Level("Exact")), Comparison("dob", "Date", Level("Exact"))],
        Rule("surname", "dob"), Rule("postcode", "first_name:1"), Rule("dob"));

    private static readonly MatchRecord[] People =
    [
        Record("r0", ("surname", "Smith"), ("dob", "1980-01-01"), ("postcode", "2000"), ("first_name", "Ann")),
        Record("r1", ("surname", "smith"), ("dob", "19800101"), ("postcode", "3000"), ("first_name", "Bob")),
        Record("r2", ("surname", "Smith"), ("dob", "1990-01-01"), ("postcode", "2000"), ("first_name", "anne")),
        Record("r3", ("surname", "Jones"), ("dob", "1980-01-01"), ("postcode", " 2000 "), ("first_name", "Alan")),
        Record("r4", ("surname", null), ("dob", "1980-01-01"), ("postcode", "2000"), ("first_name", "Amy")),
    ];

    [Fact]
    public void Blocking_produces_exactly_the_pairs_sharing_a_rule_key_once_each_with_counts_per_rule()
    {
        var candidates = Blocking.FindCandidates(Encode(People), LinkType.Dedupe);

        Pairs(candidates).Should().BeEquivalentTo([(0, 1), (0, 2), (0, 3), (0, 4), (2, 3), (2, 4), (3, 4), (1, 3), (1, 4)]);
        candidates.Report.Select(r => (r.Rule, r.Pairs, r.NewPairs)).Should().Equal(
            ("surname+dob", 1L, 1L), ("postcode+first_name:1", 6L, 6L), ("dob", 6L, 2L));
        candidates.ComparablePairs.Should().Be(10);
    }

    [Fact]
    public void Linking_produces_only_pairs_across_sources()
    {
        var records = People.Select((r, i) => r with { Source = i < 3 ? 0 : 1 }).ToArray();

        var candidates = Blocking.FindCandidates(Encode(records), LinkType.Link);

        Pairs(candidates).Should().BeEquivalentTo([(0, 3), (0, 4), (2, 3), (2, 4), (1, 3), (1, 4)]);
        candidates.Report.Select(r => r.NewPairs).Should().Equal(0L, 4L, 2L);
        candidates.ComparablePairs.Should().Be(6);
    }

    [Fact]
    public void A_rule_that_would_produce_too_many_pairs_fails_naming_the_rule()
    {
        var records = Enumerable.Range(0, 50).Select(i => Record($"r{i}", ("surname", "smith"), ("dob", $"1980-01-{i % 28 + 1:00}"))).ToArray();
        var settings = Options([Comparison("surname", "Name", Level("Exact"))], Rule("dob"), Rule("surname"));
        settings.Training.MaxCandidatePairs = 1_000;

        var act = () => Blocking.FindCandidates(EncodedRecords.Encode(ComparisonPlan.Compile(settings), records), LinkType.Dedupe);

        act.Should().Throw<InvalidOperationException>().WithMessage("blocking rule 'surname' would produce 1,225 candidate pairs*MaxCandidatePairs*");
    }

    private static EncodedRecords Encode(IReadOnlyList<MatchRecord> records) => EncodedRecords.Encode(ComparisonPlan.Compile(Settings), records);

    private static List<(int, int)> Pairs(CandidatePairs candidates) =>
        [.. Enumerable.Range(0, candidates.Count).Select(i => (candidates.Left[i], candidates.Right[i]))];
}
