using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Segments.Language;
using FluentValidation;
using FluentValidation.Results;

namespace Cdp.Modules.Segments.Definitions;

/// <summary>appsettings section <c>Cdp:Segments</c>: segment key -> definition (read-only over the API).</summary>
internal sealed class SegmentSettings : Dictionary<string, SegmentSetting>
{
    public const string Section = "Cdp:Segments";

    public SegmentSettings() : base(StringComparer.OrdinalIgnoreCase)
    {
    }
}

internal sealed class SegmentSetting
{
    public string? Name { get; set; }

    public string? Description { get; set; }

    /// <summary>The condition, in the segment language (docs/segments.md).</summary>
    public string? Where { get; set; }
}

/// <summary>
/// Every config segment must parse, name only config segments it depends on, and form no cycle; the message names the
/// key: "Cdp:Segments:derm:Where: line 1, column 34: expected ...".
/// </summary>
internal sealed class SegmentSettingsValidator : AbstractValidator<SegmentSettings>
{
    public SegmentSettingsValidator()
    {
        RuleFor(s => s).Custom((settings, context) =>
        {
            var parsed = new Dictionary<string, Condition>(StringComparer.OrdinalIgnoreCase);
            foreach (var (key, setting) in settings)
            {
                if (SegmentRules.KeyProblem(key) is { } keyProblem)
                {
                    context.AddFailure(new ValidationFailure(key, keyProblem));
                    continue;
                }
                if (setting.Name is { Length: > SegmentRules.MaxNameLength })
                    context.AddFailure(new ValidationFailure($"{key}.Name", $"at most {SegmentRules.MaxNameLength} characters"));
                if (string.IsNullOrWhiteSpace(setting.Where))
                {
                    context.AddFailure(new ValidationFailure($"{key}.Where", "is required: the segment's condition, e.g. traits.plan = \"gold\""));
                    continue;
                }
                try { parsed[key] = SegmentParser.Parse(setting.Where); }
                catch (SegmentSyntaxException ex) { context.AddFailure(new ValidationFailure($"{key}.Where", ex.Message)); }
                catch (Exception ex) when (ex is not OutOfMemoryException) // the parser is total; should it not be, exit 2 naming the key all the same
                {
                    context.AddFailure(new ValidationFailure($"{key}.Where", $"cannot be read ({ex.GetType().Name}: {ex.Message})"));
                }
            }
            foreach (var (key, condition) in parsed)
            {
                if (SegmentRules.ReferenceProblem(key, condition, k => parsed.TryGetValue(k, out var c) ? c : null) is { } problem)
                    context.AddFailure(new ValidationFailure($"{key}.Where", problem));
            }
        });
    }
}

/// <summary>appsettings section <c>Cdp:SegmentEvaluation</c>.</summary>
internal sealed class SegmentEvaluationOptions
{
    public const string Section = "Cdp:SegmentEvaluation";

    /// <summary>
    /// Cron (UTC) of the time-window sweep, the recurring job "segment-sweep" (Hangfire, like every periodic task): by default
    /// daily five minutes after midnight. An occurrence missed while Cdp was stopped runs once at the next start. Empty: no sweep.
    /// </summary>
    public string SweepSchedule { get; set; } = DefaultSweepSchedule;

    /// <summary>Windows are counted in UTC days: the sweep runs just after each day begins.</summary>
    public const string DefaultSweepSchedule = "5 0 * * *";

    /// <summary>Members returned by a preview as a sample.</summary>
    public int PreviewSampleSize { get; set; } = 20;

    /// <summary>
    /// Profiles' segment states (event counters, memberships) the real-time evaluation keeps between batches, so that a
    /// returning visitor's state costs no read; a few hundred bytes each. 0 turns the cache off.
    /// </summary>
    public int CachedStates { get; set; } = 50_000;
}

internal sealed class SegmentEvaluationOptionsValidator : AbstractValidator<SegmentEvaluationOptions>
{
    public SegmentEvaluationOptionsValidator()
    {
        RuleFor(o => o.SweepSchedule).MustBeCron(emptyMeansOff: true);
        RuleFor(o => o.PreviewSampleSize).InclusiveBetween(0, 1000);
        RuleFor(o => o.CachedStates).InclusiveBetween(0, 10_000_000);
    }
}
