using Cdp.Modules.Scheduling.Storage;
using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Client;
using Hangfire.Common;
using Hangfire.Server;
using Hangfire.States;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Scheduling.Hosting;

/// <summary>
/// Hangfire's moving parts for one host, built around its own storage and filters, never Hangfire's static
/// globals (JobStorage.Current, GlobalJobFilters, JobActivator.Current): several hosts can run in one process.
/// </summary>
internal sealed class JobMachinery
{
    public JobMachinery(JobStorage storage, IServiceScopeFactory scopes, IOptions<SchedulingOptions> options)
    {
        Storage = storage;
        storage.JobExpirationTimeout = options.Value.JobExpiration;

        // The same global filters Hangfire installs by default, in a collection of this host's own.
        var globalFilters = new JobFilterCollection();
        FilterProvider = new JobFilterProviderCollection(new JobFilterAttributeFilterProvider(), globalFilters);
        StateChanger = new BackgroundJobStateChanger(FilterProvider);
        globalFilters.Add(new CaptureCultureAttribute());
        globalFilters.Add(new AutomaticRetryAttribute());
        globalFilters.Add(new StatisticsHistoryAttribute());
        globalFilters.Add(new ContinuationsSupportAttribute(pushResults: false,
            new HashSet<string>(StringComparer.OrdinalIgnoreCase) { DeletedState.StateName, SucceededState.StateName }, StateChanger));

        Activator = new AspNetCoreJobActivator(scopes);
        Factory = new BackgroundJobFactory(FilterProvider);
        Client = new BackgroundJobClient(storage, Factory, StateChanger);
        RecurringJobs = new RecurringJobManager(storage, Factory);
    }

    /// <summary>Cdp's LiteDB job storage, or Hangfire.PostgreSql's on PostgreSQL (SchedulingModule picks it).</summary>
    public JobStorage Storage { get; }

    public IJobFilterProvider FilterProvider { get; }

    public IBackgroundJobStateChanger StateChanger { get; }

    public JobActivator Activator { get; }

    public IBackgroundJobFactory Factory { get; }

    public IBackgroundJobClient Client { get; }

    public IRecurringJobManager RecurringJobs { get; }

    /// <summary>The server builds its factory, performer and state changer from the options' FilterProvider and Activator.</summary>
    public BackgroundJobServer StartServer(SchedulingOptions options) => StartServer(options, options.ServedQueues().ToArray(), options.WorkerCount);

    /// <summary>A server on <paramref name="queues"/> only, with <paramref name="workers"/> workers (the leader queue's).</summary>
    public BackgroundJobServer StartServer(SchedulingOptions options, string[] queues, int workers) => new(
        new BackgroundJobServerOptions
        {
            WorkerCount = workers,
            Queues = queues,
            SchedulePollingInterval = options.SchedulePollInterval,
            ShutdownTimeout = options.ShutdownTimeout,
            Activator = Activator,
            FilterProvider = FilterProvider,
        },
        Storage,
        []);
}
