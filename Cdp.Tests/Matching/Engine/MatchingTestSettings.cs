using Cdp.Modules.Matching.Engine;

namespace Cdp.Tests.Matching.Engine;

/// <summary>Short ways to write matching settings and records in tests.</summary>
internal static class MatchingTestSettings
{
    public static ComparisonLevelOptions Level(string kind, double? threshold = null, int? maxDistance = null, int? days = null, bool dayMonthSwap = false, string? with = null) =>
        new() { Kind = kind, Threshold = threshold, MaxDistance = maxDistance, Days = days, DayMonthSwap = dayMonthSwap, With = with };

    public static ComparisonOptions Comparison(string field, string normalise, params ComparisonLevelOptions[] levels) =>
        new() { Field = field, Normalise = normalise, Levels = [Level("Null"), .. levels, Level("Else")] };

    public static BlockingRuleOptions Rule(params string[] keys) => new() { Keys = [.. keys] };

    public static MatchingOptions Options(IEnumerable<ComparisonOptions> comparisons, params BlockingRuleOptions[] rules) =>
        new() { Comparisons = [.. comparisons], Blocking = [.. rules] };

    public static MatchRecord Record(string id, params (string Field, string? Value)[] fields) =>
        new(id, fields.ToDictionary(f => f.Field, f => f.Value));

    public static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);
}
