namespace Cdp.Modules.Scheduling.Contracts;

/// <summary>
/// Lets a module contribute recurring jobs from its own settings (e.g. one per configured sync) instead of
/// Cdp:Scheduling:RecurringJobs. Read once at start-up, beside appsettings' own list: each definition is added or
/// updated, and (as for appsettings) a recurring job that no source and no setting names any more is removed.
/// An id must not clash with Cdp:Scheduling:RecurringJobs or another source (the start is refused).
/// Scheduling does not prevent overlapping runs of one recurring job: a kind that must not overlap guards itself.
/// </summary>
public interface IRecurringJobSource
{
    IReadOnlyList<RecurringJobDefinition> RecurringJobs();
}

/// <summary>
/// A contributed recurring job. <see cref="SettingsKey"/> names the appsettings key it came from, so errors
/// (bad cron, unknown time zone) name that key. <see cref="Arguments"/> reach the kind as RecurringJobRun.Arguments.
/// </summary>
public sealed record RecurringJobDefinition(
    string Id, string Kind, string Cron, string TimeZone, IReadOnlyDictionary<string, string> Arguments,
    string SettingsKey, string Queue = "default");

/// <summary>When recurring jobs run: what admin pages show beside their own run history.</summary>
public interface IRecurringJobSchedule
{
    /// <summary>The schedule of one recurring job; null when no such recurring job is stored.</summary>
    RecurringJobStatus? Find(string recurringJobId);
}

public sealed record RecurringJobStatus(string Id, string Cron, string? TimeZone, DateTime? NextExecution, DateTime? LastExecution,
    string? LastJobId, string? LastJobState, string? Error);
