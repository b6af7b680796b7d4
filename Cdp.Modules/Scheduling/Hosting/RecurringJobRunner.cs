using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Shared.Modules;
using Hangfire;
using Hangfire.Server;

namespace Cdp.Modules.Scheduling.Hosting;

/// <summary>What Hangfire calls for each run of a recurring job: finds the kind by name and runs it.</summary>
[Service(ServiceLifetime.Scoped)]
internal sealed class RecurringJobRunner(IEnumerable<IRecurringJobKind> kinds, RecurringJobCatalog catalog)
{
    /// <summary>A failed run is retried a few times, then left Failed on the dashboard; the next occurrence runs anyway.</summary>
    public const int RetryAttempts = 3;

    [AutomaticRetry(Attempts = RetryAttempts)]
    public Task RunAsync(string kind, string recurringJobId, PerformContext? context, CancellationToken cancellationToken)
    {
        var runner = kinds.FirstOrDefault(k => k.Name == kind)
            ?? throw new InvalidOperationException($"No recurring job kind named '{kind}' is registered (recurring job '{recurringJobId}').");
        var arguments = catalog.Settings(recurringJobId)?.Arguments
            ?? new Dictionary<string, string>(StringComparer.Ordinal);
        return runner.RunAsync(new RecurringJobRun(recurringJobId, context?.BackgroundJob.Id ?? "", arguments), cancellationToken);
    }
}
