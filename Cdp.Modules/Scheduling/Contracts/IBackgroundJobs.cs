using System.Linq.Expressions;

namespace Cdp.Modules.Scheduling.Contracts;

/// <summary>
/// Runs work in the background on Cdp's job server (Hangfire on the jobs file). <typeparamref name="TJob"/> is
/// resolved from DI in a scope of its own when the job runs; the call's arguments are stored as JSON, so pass
/// ids and small values, not entities. A job runs at least once: make it idempotent. Job ids are strings.
/// </summary>
public interface IBackgroundJobs
{
    /// <summary>Runs the call as soon as a worker is free, on <paramref name="queue"/> (default "default").</summary>
    string Enqueue<TJob>(Expression<Func<TJob, Task>> call, string? queue = null) where TJob : notnull;

    /// <summary>Runs the call once <paramref name="delay"/> has passed.</summary>
    string Schedule<TJob>(Expression<Func<TJob, Task>> call, TimeSpan delay) where TJob : notnull;

    /// <summary>Runs the call after the job <paramref name="parentJobId"/> succeeded.</summary>
    string ContinueWith<TJob>(string parentJobId, Expression<Func<TJob, Task>> call) where TJob : notnull;

    /// <summary>The job's current state name (Enqueued, Processing, Succeeded, Failed, ...), or null for an unknown id.</summary>
    string? StateOf(string jobId);

    /// <summary>Starts a run of a configured recurring job now; null when no such recurring job exists.</summary>
    string? TriggerRecurring(string recurringJobId);
}
