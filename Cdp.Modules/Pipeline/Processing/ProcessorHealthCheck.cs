using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Cdp.Modules.Pipeline.Processing;

/// <summary>
/// Part of /health/ready (tag "ready"): unhealthy while the processor's thread is dead or not running, and while it rides
/// out an environmental failure (I/O, disk full, the engine) or retries loading its state. Listed failed events do not
/// make it unhealthy: they were set aside so that processing goes on; they are in the description and in /metrics.
/// </summary>
internal sealed class ProcessorHealthCheck(ProfileProcessor processor) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var s = processor.Status;
        var data = new Dictionary<string, object>
        {
            ["checkpoint"] = s.Checkpoint, ["lag"] = Math.Max(0, s.LogHead - s.Checkpoint), ["failedEvents"] = s.FailedEvents, ["paused"] = s.Paused,
            ["leading"] = s.Leading, ["host"] = s.Host ?? "", ["leader"] = s.Leader ?? "unknown",
        };
        HealthCheckResult result;
        if (s.Dead) result = HealthCheckResult.Unhealthy($"the profile processor's thread is dead ({s.DeadReason}); commands fail", data: data);
        else if (s.EnvironmentalError is { } error)
        {
            data["retryAttempts"] = s.RetryAttempts;
            result = HealthCheckResult.Unhealthy(
                $"profile processing fails since {s.EnvironmentalErrorSince:u} for a reason outside the events ({error}); attempt {s.RetryAttempts} failed, next at {s.NextRetryAt:u}",
                data: data);
        }
        else if (!s.Running) result = HealthCheckResult.Unhealthy("the profile processor is not running", data: data);
        else if (!s.Leading)
        {
            result = HealthCheckResult.Healthy($"this host ({s.Host}) follows: {s.Leader ?? "another host"} runs the profile processor, at sequence {s.Checkpoint}", data);
        }
        else result = HealthCheckResult.Healthy($"profile processor running at sequence {s.Checkpoint}, {s.FailedEvents} failed events listed", data);
        return Task.FromResult(result);
    }
}
