using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Matching.Engine;
using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Cdp.Modules.Matching.Contracts;

namespace Cdp.Modules.Matching.ProfileMatching;

/// <summary>
/// Gives Scheduling the recurring job "identity-matching" (kind "identity-matching") when Cdp:Identity:Matching:Schedule
/// holds a cron (UTC). Off by default: probabilistic merges change profiles, so an admin first looks at a run's results.
/// </summary>
[Service]
internal sealed class MatchingSchedule(IOptions<MatchingOptions> options) : IRecurringJobSource
{
    public const string JobId = "identity-matching";

    public IReadOnlyList<RecurringJobDefinition> RecurringJobs() => string.IsNullOrWhiteSpace(options.Value.Schedule)
        ? []
        : [new RecurringJobDefinition(JobId, MatchingJobKind.KindName, options.Value.Schedule.Trim(), "UTC", new Dictionary<string, string>(), MatchingOptions.Section + ":Schedule")];
}

/// <summary>
/// "identity-matching": one incremental matching run (Arguments: "Full" = "true" for a full one). Idempotent: a repeated
/// run finds the same pairs merged, queued or rejected. An occurrence that meets a running run is skipped.
/// </summary>
[Service]
internal sealed class MatchingJobKind(IProfileMatching matching, ILogger<MatchingJobKind> log) : IRecurringJobKind
{
    public const string KindName = "identity-matching";

    public string Name => KindName;

    public bool RunsBesideProcessor => true;

    public async Task RunAsync(RecurringJobRun run, CancellationToken cancellationToken)
    {
        try
        {
            var full = run.Arguments.TryGetValue("Full", out var f) && bool.TryParse(f, out var b) && b;
            await matching.RunAsync(full, retrain: false, "schedule", cancellationToken);
        }
        catch (MatchingBusyException)
        {
            log.LogWarning("Scheduled matching skipped: the previous run is still going");
        }
    }
}

/// <summary>Cdp:Identity:Matching:Schedule is empty or a cron expression: checked with the other settings (check-config, start).</summary>
[Service]
internal sealed class MatchingScheduleValidator : IValidateOptions<MatchingOptions>
{
    public ValidateOptionsResult Validate(string? name, MatchingOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Schedule) || CronSchedule.Problem(options.Schedule) is not { } problem) return ValidateOptionsResult.Success;
        return ValidateOptionsResult.Fail($"{MatchingOptions.Section}:{nameof(MatchingOptions.Schedule)}: {problem}");
    }
}
