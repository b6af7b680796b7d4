using System.Linq.Expressions;
using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Shared.Modules;
using Hangfire;
using Hangfire.States;

namespace Cdp.Modules.Scheduling.Hosting;

/// <summary>The other modules' door to the job server (see <see cref="IBackgroundJobs"/>).</summary>
[Service]
internal sealed class BackgroundJobs(JobMachinery machinery) : IBackgroundJobs
{
    public string Enqueue<TJob>(Expression<Func<TJob, Task>> call, string? queue = null) where TJob : notnull =>
        queue is null ? machinery.Client.Enqueue(call) : machinery.Client.Create(call, new EnqueuedState(queue));

    public string Schedule<TJob>(Expression<Func<TJob, Task>> call, TimeSpan delay) where TJob : notnull =>
        machinery.Client.Schedule(call, delay);

    public string ContinueWith<TJob>(string parentJobId, Expression<Func<TJob, Task>> call) where TJob : notnull =>
        machinery.Client.ContinueJobWith(parentJobId, call);

    public string? StateOf(string jobId)
    {
        using var connection = machinery.Storage.GetConnection();
        return connection.GetStateData(jobId)?.Name;
    }

    public string? TriggerRecurring(string recurringJobId)
    {
        using var connection = machinery.Storage.GetConnection();
        if (connection.GetAllEntriesFromHash("recurring-job:" + recurringJobId) is null) return null;
        return ((RecurringJobManager)machinery.RecurringJobs).TriggerJob(recurringJobId);
    }
}
