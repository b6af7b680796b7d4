using Cronos;
using FluentValidation;

namespace Cdp.Modules.Scheduling.Contracts;

/// <summary>
/// The one check of a cron setting, used by every module's settings validator (so <c>check-config</c> names the key) and
/// by the job server before it hands the expression to Hangfire. The rules are Hangfire's own: 5 fields (minute
/// precision) or 6 (seconds first), or a macro such as <c>@daily</c>, parsed by Cronos (the parser Hangfire carries).
/// </summary>
public static class CronSchedule
{
    /// <summary>Null when <paramref name="cron"/> is a cron expression Hangfire accepts; otherwise the reason, for a settings failure.</summary>
    public static string? Problem(string? cron)
    {
        if (string.IsNullOrWhiteSpace(cron)) return "must be a cron expression, e.g. \"*/15 * * * *\"";
        var fields = cron.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Length;
        if (!cron.TrimStart().StartsWith('@') && fields is not (5 or 6))
            return $"'{cron}' is not a valid cron expression (it has {fields} fields: 5, or 6 with seconds first)";
        try
        {
            CronExpression.Parse(cron.Trim(), fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
            return null;
        }
        catch (CronFormatException ex)
        {
            return $"'{cron}' is not a valid cron expression ({ex.Message.Split('\n')[0].Trim()})";
        }
    }

    /// <summary>A FluentValidation rule: the property must be a cron expression (or, with <paramref name="emptyMeansOff"/>, empty).</summary>
    public static IRuleBuilderOptionsConditions<T, string> MustBeCron<T>(this IRuleBuilder<T, string> rule, bool emptyMeansOff = false) =>
        rule.Custom((cron, context) =>
        {
            if (emptyMeansOff && string.IsNullOrWhiteSpace(cron)) return;
            if (Problem(cron) is { } problem) context.AddFailure(problem);
        });
}
