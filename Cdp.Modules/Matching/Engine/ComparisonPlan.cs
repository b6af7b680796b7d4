using System.Globalization;

namespace Cdp.Modules.Matching.Engine;

/// <summary>Comparison level kinds, in the words of the settings.</summary>
internal enum LevelKind
{
    /// <summary>Either value is missing: the comparison says nothing (weight 0). Always level 0.</summary>
    Null,
    Exact,
    JaroWinkler,

    /// <summary>Damerau-Levenshtein as optimal string alignment (see <see cref="StringSimilarity.OptimalStringAlignment"/>).</summary>
    DamerauLevenshtein,
    DateTolerance,

    /// <summary>
    /// Names typed in each other's fields: this field equals the other record's <c>With</c> field and vice versa,
    /// one of the two crossed comparisons being allowed to be missing (first name empty on one side). With a
    /// Threshold, "equals" is a Jaro-Winkler similarity at or above it.
    /// </summary>
    Swapped,
    Else,
}

/// <summary>One level of a comparison as the scorer evaluates it.</summary>
internal readonly record struct ComparisonLevel(
    LevelKind Kind,
    string Label,
    double Threshold = 0,
    int MaxDistance = 0,
    int Days = 0,
    bool DayMonthSwap = false,
    string? With = null,
    int WithSlot = -1);

/// <summary>One comparison compiled from settings: its field, normalisation and levels (level 0 is always Null).</summary>
internal sealed record CompiledComparison(
    string Name,
    string Field,
    FieldKind Kind,
    bool TermFrequency,
    ComparisonLevel[] Levels)
{
    /// <summary>The Exact level's index, or -1: term-frequency adjustments apply at this level.</summary>
    public int ExactLevel { get; } = Array.FindIndex(Levels, l => l.Kind == LevelKind.Exact);

    /// <summary>Fields other than <see cref="Field"/> this comparison reads (Swapped levels).</summary>
    public IEnumerable<string> OtherFields => Levels.Where(l => l.With is not null).Select(l => l.With!).Distinct(StringComparer.Ordinal);

    /// <summary>True when the comparison reads <paramref name="field"/>: a blocking rule on it biases its m during training.</summary>
    public bool Reads(string field) => Field == field || OtherFields.Contains(field, StringComparer.Ordinal);
}

/// <summary>A blocking key: a field's normalised value, or its first <see cref="Prefix"/> characters.</summary>
internal readonly record struct BlockingKey(string Field, int Prefix)
{
    private const int MaxPrefix = 64;

    public static bool TryParse(string? text, out BlockingKey key)
    {
        key = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            key = new BlockingKey(text.Trim(), 0);
            return true;
        }
        var field = text[..colon].Trim();
        if (field.Length == 0 || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) || prefix is < 1 or > MaxPrefix)
            return false;
        key = new BlockingKey(field, prefix);
        return true;
    }

    public override string ToString() => Prefix == 0 ? Field : $"{Field}:{Prefix}";
}

internal sealed record CompiledBlockingRule(string Name, BlockingKey[] Keys);

/// <summary>
/// The settings compiled once: comparisons with their value slots, blocking rules and thresholds as weights.
/// A record's encoded values are laid out record-major: slot c is comparison c's field, then one slot per
/// (comparison, Swapped With field).
/// </summary>
internal sealed class ComparisonPlan
{
    private ComparisonPlan(CompiledComparison[] comparisons, CompiledBlockingRule[] rules, MatchingOptions options, int slotCount)
    {
        Comparisons = comparisons;
        BlockingRules = rules;
        Options = options;
        SlotCount = slotCount;
        AutoMergeWeight = MatchProbability.ToWeight(options.Thresholds.AutoMerge);
        ReviewWeight = MatchProbability.ToWeight(options.Thresholds.Review);
    }

    public CompiledComparison[] Comparisons { get; }

    public CompiledBlockingRule[] BlockingRules { get; }

    public MatchingOptions Options { get; }

    /// <summary>Encoded values per record.</summary>
    public int SlotCount { get; }

    public double AutoMergeWeight { get; }

    public double ReviewWeight { get; }

    /// <summary>AutoMerge at or above the AutoMerge threshold, Review at or above the Review threshold, else None.</summary>
    public MatchRoute Route(double weight) =>
        weight >= AutoMergeWeight ? MatchRoute.AutoMerge : weight >= ReviewWeight ? MatchRoute.Review : MatchRoute.None;

    /// <summary>The normalisation of a field: that of the first comparison on it, else Text.</summary>
    public FieldKind KindOf(string field) =>
        Comparisons.FirstOrDefault(c => c.Field == field)?.Kind ?? FieldKind.Text;

    /// <summary>Compiles validated settings (run <see cref="MatchingOptionsValidator"/> first).</summary>
    public static ComparisonPlan Compile(MatchingOptions options)
    {
        var result = new MatchingOptionsValidator().Validate(options);
        if (!result.IsValid)
            throw new ArgumentException("invalid matching settings: " + string.Join("; ", result.Errors.Select(e => $"{e.PropertyName}: {e.ErrorMessage}")), nameof(options));

        var slot = options.Comparisons.Count;
        var comparisons = new CompiledComparison[options.Comparisons.Count];
        for (var c = 0; c < comparisons.Length; c++)
        {
            var source = options.Comparisons[c];
            FieldNormaliser.TryParse(source.Normalise, out var kind);
            var withSlots = new Dictionary<string, int>(StringComparer.Ordinal);
            var levels = new List<ComparisonLevel> { new(LevelKind.Null, "Null") };
            foreach (var level in source.Levels)
            {
                Enum.TryParse<LevelKind>(level.Kind, true, out var levelKind);
                if (levelKind == LevelKind.Null) continue;
                var withSlot = -1;
                if (levelKind == LevelKind.Swapped && !withSlots.TryGetValue(level.With!, out withSlot))
                    withSlots[level.With!] = withSlot = slot++;
                levels.Add(new ComparisonLevel(
                    levelKind,
                    Label(levelKind, level),
                    level.Threshold ?? 0,
                    level.MaxDistance ?? 0,
                    level.Days ?? 0,
                    level.DayMonthSwap,
                    level.With,
                    withSlot));
            }
            comparisons[c] = new CompiledComparison(source.DisplayName, source.Field, kind, source.TermFrequency, [.. levels]);
        }
        var rules = options.Blocking.Select(r =>
            new CompiledBlockingRule(r.DisplayName, [.. r.Keys.Select(k => BlockingKey.TryParse(k, out var key) ? key : throw new ArgumentException(k))])).ToArray();
        return new ComparisonPlan(comparisons, rules, options, slot);
    }

    private static string Label(LevelKind kind, ComparisonLevelOptions level) => kind switch
    {
        LevelKind.JaroWinkler => FormattableString.Invariant($"JaroWinkler>={level.Threshold}"),
        LevelKind.DamerauLevenshtein => FormattableString.Invariant($"DamerauLevenshtein<={level.MaxDistance}"),
        LevelKind.DateTolerance => string.Join(" or ", new[]
        {
            level.Days is > 0 ? FormattableString.Invariant($"within {level.Days} days") : null,
            level.DayMonthSwap ? "day/month swapped" : null,
        }.Where(s => s is not null)),
        LevelKind.Swapped => level.Threshold is > 0
            ? FormattableString.Invariant($"Swapped with {level.With} (JaroWinkler>={level.Threshold})")
            : $"Swapped with {level.With}",
        _ => kind.ToString(),
    };
}

/// <summary>Match probability and match weight (log2 odds) are two views of one number.</summary>
internal static class MatchProbability
{
    public static double ToWeight(double probability) => Math.Log2(probability / (1 - probability));

    public static double FromWeight(double weight) => 1.0 / (1.0 + Math.Pow(2, -weight));
}
