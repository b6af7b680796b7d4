using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Cdp.Modules.Collection.EventLog;

/// <summary>Ready when the log writer thread runs and its queue has room.</summary>
internal sealed class EventLogHealthCheck(EventLogWriter writer) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(writer.Running
            ? HealthCheckResult.Healthy($"log writer running, {writer.PendingEvents} events queued")
            : HealthCheckResult.Unhealthy("the event log writer is not running"));
}
