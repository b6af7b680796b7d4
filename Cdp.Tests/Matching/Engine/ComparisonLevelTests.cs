using Cdp.Modules.Matching.Engine;
using static Cdp.Tests.Matching.Engine.MatchingTestSettings;

namespace Cdp.Tests.Matching.Engine;

public sealed class ComparisonLevelTests
{
    private static readonly MatchingOptions Settings = Options(
        [
            Comparison("first_name", "Name", Level("Exact"), Level("Swapped", with: "surname"), Level("JaroWinkler", threshold: 0.9), Level("JaroWinkler", threshold: 0.8)),
            Comparison("surname", "Name", Level("Exact"), Level("DamerauLevenshtein", maxDistance: 1), Level("DamerauLevenshtein", maxDistance: 2)),
            Comparison("dob", "Date", Level("Exact"), Level("DateTolerance", dayMonthSwap: true), Level("DateTolerance", days: 30)),
        ],
        Rule("surname"));

    [Theory]
    [InlineData("Martha", "Smith", "1980-03-06", "martha", "SMITH", "19800306", "Exact", "Exact", "Exact")]
    [InlineData("Martha", "Smith", "1980-03-06", "Marhta", "Smiht", "1980-06-03", "JaroWinkler>=0.9", "DamerauLevenshtein<=1", "day/month swapped")]
    [InlineData("Dwayne", "Smith", "1980-03-06", "Duane", "Smyht", "1980-03-30", "JaroWinkler>=0.8", "DamerauLevenshtein<=2", "within 30 days")]
    [InlineData("Smith", "Martha", "1980-03-06", "Martha", "Smith", "1981-03-06", "Swapped with surname", "Else", "Else")]
    [InlineData("", "Smith", "not a date", "Martha", "", "1980-03-06", "Null", "Null", "Null")]
    [InlineData("Jac ob", "O'Neil", "19800306", "Jacob", "ONeil", "1980/03/06", "Exact", "Exact", "Exact")]
    public void Each_comparison_yields_the_first_level_that_holds(
        string firstA, string surnameA, string dobA, string firstB, string surnameB, string dobB,
        string firstLevel, string surnameLevel, string dobLevel)
    {
        var plan = ComparisonPlan.Compile(Settings);
        var records = EncodedRecords.Encode(plan,
        [
            Record("a", ("first_name", firstA), ("surname", surnameA), ("dob", dobA)),
            Record("b", ("first_name", firstB), ("surname", surnameB), ("dob", dobB)),
        ]);
        var pattern = new PairComparer(records).Compare(0, 1);

        string LevelOf(int c) => plan.Comparisons[c].Levels[PairComparer.LevelOf(pattern, c)].Label;
        LevelOf(0).Should().Be(firstLevel);
        LevelOf(1).Should().Be(surnameLevel);
        LevelOf(2).Should().Be(dobLevel);
    }

    [Fact]
    public void Swapped_names_hold_when_one_crossed_side_is_missing_but_not_when_it_disagrees()
    {
        var plan = ComparisonPlan.Compile(Settings);
        var records = EncodedRecords.Encode(plan,
        [
            Record("a", ("first_name", "george"), ("surname", null)),
            Record("b", ("first_name", "owen"), ("surname", "george")),
            Record("c", ("first_name", "owen"), ("surname", "jones")),
        ]);
        var comparer = new PairComparer(records);
        plan.Comparisons[0].Levels[PairComparer.LevelOf(comparer.Compare(0, 1), 0)].Label.Should().Be("Swapped with surname");
        plan.Comparisons[0].Levels[PairComparer.LevelOf(comparer.Compare(0, 2), 0)].Label.Should().Be("Else");
    }

    [Theory]
    [InlineData("  Jac   Ob ", "Text", "jac ob")]
    [InlineData("Jac Ob-Smith", "Name", "jacobsmith")]
    [InlineData("SW1A 1AA", "Code", "sw1a1aa")]
    [InlineData("+44 (0)20 7946-0958", "Digits", "4402079460958")]
    [InlineData(" Ann@Example.COM ", "Email", "ann@example.com")]
    [InlineData("1971-06-24", "Date", "19710624")]
    [InlineData("1971/06/24T10:00:00Z", "Date", "19710624")]
    [InlineData("19710624", "Date", "19710624")]
    [InlineData("24/06/1971", "Date", null)]
    [InlineData("   ", "Text", null)]
    [InlineData("--", "Digits", null)]
    public void Values_are_normalised_before_comparison(string raw, string kind, string? expected) =>
        FieldNormaliser.Normalise(raw, Enum.Parse<FieldKind>(kind)).Should().Be(expected);

    [Fact]
    public void Date_tolerance_needs_calendar_dates_for_days_but_not_for_a_day_month_swap()
    {
        DateValue.WithinTolerance(19800131, DateValue.DayNumber(19800131), 19800201, DateValue.DayNumber(19800201), days: 1, dayMonthSwap: false).Should().BeTrue();
        DateValue.WithinTolerance(19800131, DateValue.DayNumber(19800131), 19800202, DateValue.DayNumber(19800202), days: 1, dayMonthSwap: false).Should().BeFalse();
        DateValue.DayNumber(19800231).Should().Be(DateValue.NoDayNumber);
        DateValue.WithinTolerance(19801302, DateValue.DayNumber(19801302), 19800213, DateValue.DayNumber(19800213), days: 0, dayMonthSwap: true).Should().BeTrue();
        DateValue.WithinTolerance(19800213, DateValue.DayNumber(19800213), 19810302, DateValue.DayNumber(19810302), days: 0, dayMonthSwap: true).Should().BeFalse();
    }
}
