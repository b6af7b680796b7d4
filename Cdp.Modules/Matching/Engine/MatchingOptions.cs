using FluentValidation;

namespace Cdp.Modules.Matching.Engine;

/// <summary>
/// appsettings section <c>Cdp:Identity:Matching</c>: the Fellegi-Sunter model for probabilistic matching.
/// Lists start empty on purpose: the configuration binder appends to a list, so defaults live in appsettings.json.
/// </summary>
internal sealed class MatchingOptions
{
    public const string Section = "Cdp:Identity:Matching";

    /// <summary>One comparison per field; each has ordered levels from most to least similar.</summary>
    public List<ComparisonOptions> Comparisons { get; set; } = [];

    /// <summary>An OR of equality rules: a pair is a candidate when any rule's keys are all equal (and present).</summary>
    public List<BlockingRuleOptions> Blocking { get; set; } = [];

    /// <summary>Both thresholds are match PROBABILITIES (0..1), not weights; weights are shown in the breakdown.</summary>
    public MatchThresholdOptions Thresholds { get; set; } = new();

    public MatchTrainingOptions Training { get; set; } = new();

    /// <summary>The "members disagree strongly" guard on probabilistic merges (see <see cref="MemberGuardOptions"/>).</summary>
    public MemberGuardOptions MemberGuard { get; set; } = new();

    /// <summary>
    /// Cron (5 fields, UTC) of the incremental matching run over the profiles, as the recurring job "identity-matching";
    /// empty = not scheduled (run it with POST /api/identity/matching/run or `cdp match run`).
    /// </summary>
    public string Schedule { get; set; } = "";
}

internal sealed class ComparisonOptions
{
    /// <summary>Shown in score breakdowns; defaults to the field name.</summary>
    public string? Name { get; set; }

    /// <summary>The record field (profile trait, CSV column) compared.</summary>
    public string Field { get; set; } = "";

    /// <summary>Text (default), Name, Code, Digits, Email or Date; see <see cref="FieldNormaliser"/>.</summary>
    public string Normalise { get; set; } = "Text";

    /// <summary>Term-frequency adjustment: an exact match on a rare value weighs more than on a common one.</summary>
    public bool TermFrequency { get; set; }

    /// <summary>Ordered, most similar first; the first that holds is the pair's level. Must end with Else.</summary>
    public List<ComparisonLevelOptions> Levels { get; set; } = [];

    public string DisplayName => string.IsNullOrWhiteSpace(Name) ? Field : Name;
}

internal sealed class ComparisonLevelOptions
{
    /// <summary>Null, Exact, JaroWinkler, DamerauLevenshtein, DateTolerance, Swapped or Else.</summary>
    public string Kind { get; set; } = "";

    /// <summary>JaroWinkler: the similarity at or above which the level holds (0.5..1]; Swapped: optional, the same for both crossed pairs.</summary>
    public double? Threshold { get; set; }

    /// <summary>DamerauLevenshtein (optimal string alignment): the distance at or below which the level holds.</summary>
    public int? MaxDistance { get; set; }

    /// <summary>DateTolerance: holds when the dates are at most this many days apart.</summary>
    public int? Days { get; set; }

    /// <summary>DateTolerance: also holds when day and month are swapped (same year).</summary>
    public bool DayMonthSwap { get; set; }

    /// <summary>Swapped: holds when this field equals the other record's <c>With</c> field and vice versa (one side may be missing).</summary>
    public string? With { get; set; }
}

internal sealed class BlockingRuleOptions
{
    /// <summary>Shown in the candidate-pair report; defaults to the keys joined with '+'.</summary>
    public string? Name { get; set; }

    /// <summary>Normalised keys that must all be equal: "field", or "field:N" for its first N characters.</summary>
    public List<string> Keys { get; set; } = [];

    public string DisplayName => string.IsNullOrWhiteSpace(Name) ? string.Join('+', Keys) : Name;
}

internal sealed class MatchThresholdOptions
{
    /// <summary>Match probability at or above which a pair is merged automatically.</summary>
    public double AutoMerge { get; set; } = 0.99;

    /// <summary>Match probability at or above which (and below AutoMerge) a pair goes to the review queue.</summary>
    public double Review { get; set; } = 0.8;
}

/// <summary>
/// <c>Cdp:Identity:Matching:MemberGuard</c>: a probabilistic merge (automatic, accepted, bulk accepted) of two profiles is
/// held back when a member of one side (its current traits or a record an earlier probabilistic merge joined into it)
/// and a member of the other side weigh at most -<see cref="DisagreementWeight"/> against each other on their own
/// comparisons (the sum of the comparison weights, without the prior): each link of a chain looks alike but its ends are
/// different people. Automatic merges go to review instead, accepts answer 409 with the reason.
/// </summary>
internal sealed class MemberGuardOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Log2 odds against: 10 means the two members' comparisons make them about 1,000 times likelier two people than one.
    /// Two records of one person with typos weigh above 0; two different people with most fields filled weigh -15 to -40.
    /// </summary>
    public double DisagreementWeight { get; set; } = 10;
}

internal sealed class MatchTrainingOptions
{
    /// <summary>
    /// Random record pairs sampled to estimate u (all pairs are used when there are fewer). Clustered F1 on the
    /// shipped FEBRL and fake_1000 sets is the same from 200,000 to 1,000,000; the sampling is most of a run's time.
    /// </summary>
    public int USamplePairs { get; set; } = 300_000;

    /// <summary>Most expectation-maximisation iterations per training session.</summary>
    public int MaxIterations { get; set; } = 100;

    /// <summary>EM stops when no m probability nor the prior moves by more than this.</summary>
    public double Tolerance { get; set; } = 1e-6;

    /// <summary>Seed of the u sampling, so a run is reproducible.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Blocking that would produce more candidate pairs than this fails with a message naming the rule.</summary>
    public long MaxCandidatePairs { get; set; } = 50_000_000;
}

internal sealed class MatchingOptionsValidator : AbstractValidator<MatchingOptions>
{
    public MatchingOptionsValidator()
    {
        RuleFor(o => o.Comparisons).NotEmpty().WithMessage("needs at least one comparison")
            .Must(c => c.Count <= MatchingLimits.MaxComparisons)
            .WithMessage($"at most {MatchingLimits.MaxComparisons} comparisons");
        RuleFor(o => o.Comparisons).Must(c => c.Select(x => x.DisplayName).Distinct(StringComparer.OrdinalIgnoreCase).Count() == c.Count)
            .WithMessage("two comparisons have the same Name (or Field)");
        RuleForEach(o => o.Comparisons).SetValidator(new ComparisonOptionsValidator());

        RuleFor(o => o.Blocking).NotEmpty().WithMessage("needs at least one blocking rule (comparing all pairs does not scale)")
            .Must(b => b.Count <= MatchingLimits.MaxBlockingRules)
            .WithMessage($"at most {MatchingLimits.MaxBlockingRules} blocking rules");
        RuleForEach(o => o.Blocking).ChildRules(rule =>
        {
            rule.RuleFor(r => r.Keys).NotEmpty().WithMessage("needs at least one key");
            rule.RuleForEach(r => r.Keys).Must(k => BlockingKey.TryParse(k, out _))
                .WithMessage("must be \"field\" or \"field:N\" (N = 1..64 leading characters), was '{PropertyValue}'");
        });

        RuleFor(o => o.Thresholds.AutoMerge).ExclusiveBetween(0.0, 1.0)
            .WithMessage("must be a match probability strictly between 0 and 1");
        RuleFor(o => o.Thresholds.Review).ExclusiveBetween(0.0, 1.0)
            .WithMessage("must be a match probability strictly between 0 and 1");
        RuleFor(o => o.Thresholds.Review).LessThanOrEqualTo(o => o.Thresholds.AutoMerge)
            .WithMessage("must not be above Thresholds:AutoMerge");

        RuleFor(o => o.MemberGuard.DisagreementWeight).InclusiveBetween(1.0, 200.0)
            .WithMessage("must be a match weight (log2 odds against) between 1 and 200");

        RuleFor(o => o.Training.USamplePairs).InclusiveBetween(1_000, 100_000_000);
        RuleFor(o => o.Training.MaxIterations).InclusiveBetween(1, 10_000);
        RuleFor(o => o.Training.Tolerance).ExclusiveBetween(0.0, 0.1);
        RuleFor(o => o.Training.MaxCandidatePairs).InclusiveBetween(1_000, 2_000_000_000);
    }

    private sealed class ComparisonOptionsValidator : AbstractValidator<ComparisonOptions>
    {
        public ComparisonOptionsValidator()
        {
            RuleFor(c => c.Field).NotEmpty().WithMessage("names the record field to compare and must not be empty");
            RuleFor(c => c.Normalise).Must(n => FieldNormaliser.TryParse(n, out _))
                .WithMessage($"must be one of {string.Join(", ", Enum.GetNames<FieldKind>())}, was '{{PropertyValue}}'");
            RuleFor(c => c.Levels).NotEmpty().WithMessage("needs ordered levels ending with Else")
                .Must(l => l.Count(x => !IsKind(x, LevelKind.Null)) <= MatchingLimits.MaxLevels - 1)
                .WithMessage($"at most {MatchingLimits.MaxLevels - 1} levels besides Null")
                .Must(l => l.Count > 0 && IsKind(l[^1], LevelKind.Else) && l.Count(x => IsKind(x, LevelKind.Else)) == 1)
                .WithMessage("must end with exactly one Else level")
                .Must(l => l.Skip(1).All(x => !IsKind(x, LevelKind.Null)))
                .WithMessage("Null may only be the first level")
                .Must(l => l.Any(x => !IsKind(x, LevelKind.Null) && !IsKind(x, LevelKind.Else)))
                .WithMessage("needs at least one level between Null and Else");
            RuleFor(c => c).Must(c => c.Levels.All(l => !IsKind(l, LevelKind.DateTolerance)) || c.Normalise.Equals("Date", StringComparison.OrdinalIgnoreCase))
                .OverridePropertyName("Normalise").WithMessage("must be Date when a level is DateTolerance");
            RuleForEach(c => c.Levels).ChildRules(level =>
            {
                level.RuleFor(l => l.Kind).Must(k => Enum.TryParse<LevelKind>(k, true, out var kind) && Enum.IsDefined(kind))
                    .WithMessage($"must be one of {string.Join(", ", Enum.GetNames<LevelKind>())}, was '{{PropertyValue}}'");
                level.When(l => IsKind(l, LevelKind.JaroWinkler), () =>
                    level.RuleFor(l => l.Threshold).NotNull().InclusiveBetween(0.5, 1.0)
                        .WithMessage("a JaroWinkler level needs a Threshold between 0.5 and 1"));
                level.When(l => IsKind(l, LevelKind.DamerauLevenshtein), () =>
                    level.RuleFor(l => l.MaxDistance).NotNull().InclusiveBetween(1, MatchingLimits.MaxEditDistance)
                        .WithMessage($"a DamerauLevenshtein level needs a MaxDistance between 1 and {MatchingLimits.MaxEditDistance}"));
                level.When(l => IsKind(l, LevelKind.DateTolerance), () =>
                {
                    level.RuleFor(l => l.Days).InclusiveBetween(0, 36_600).WithMessage("must be between 0 and 36600 days");
                    level.RuleFor(l => l).Must(l => l.Days is > 0 || l.DayMonthSwap)
                        .OverridePropertyName("Days").WithMessage("a DateTolerance level needs Days > 0 or DayMonthSwap: true");
                });
                level.When(l => IsKind(l, LevelKind.Swapped), () =>
                {
                    level.RuleFor(l => l.With).NotEmpty().WithMessage("a Swapped level names the other field in With");
                    level.RuleFor(l => l.Threshold).InclusiveBetween(0.5, 1.0).When(l => l.Threshold is not null)
                        .WithMessage("a Swapped level's optional Threshold is a Jaro-Winkler similarity between 0.5 and 1");
                });
            });
        }
    }

    private static bool IsKind(ComparisonLevelOptions level, LevelKind kind) =>
        Enum.TryParse<LevelKind>(level.Kind, true, out var k) && k == kind;
}

/// <summary>Limits of the model, with the reason for each.</summary>
internal static class MatchingLimits
{
    /// <summary>A pair's comparison vector is packed into one ulong, 4 bits per comparison.</summary>
    public const int MaxComparisons = 16;

    /// <summary>4 bits per comparison: level 0 (Null) plus 15 others.</summary>
    public const int MaxLevels = 16;

    /// <summary>Edit distances above this stop being "similar" for person data and cost a wider band.</summary>
    public const int MaxEditDistance = 8;

    /// <summary>A candidate pair records the first blocking rule that found it in one byte.</summary>
    public const int MaxBlockingRules = 32;
}
