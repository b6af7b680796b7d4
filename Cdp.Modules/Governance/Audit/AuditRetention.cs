using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance.Audit;

/// <summary>Deletes audit records older than Cdp:Governance:AuditRetentionDays, at start and then every few hours.</summary>
[Service]
internal sealed class AuditRetention(AuditTrail trail, AuditMiddleware audit, IOptions<AuditOptions> options, ILogger<AuditRetention> log) : BackgroundService
{
    /// <summary>Retention is counted in days: pruning a few times a day keeps the log within a few hours of it.</summary>
    private static readonly TimeSpan Interval = TimeSpan.FromHours(6);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var retention = TimeSpan.FromDays(options.Value.AuditRetentionDays);
        try
        {
            var n = trail.UpgradeLegacyRecords(audit.RewriteLegacy);
            if (n > 0) log.LogInformation("Audit log: {Count} records from before keyed hashes rewritten (searched values and identifiers now keyed hashes)", n);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            log.LogError(ex, "Audit log: rewriting the records from before keyed hashes failed; trying again at the next start");
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var n = trail.Prune(retention);
                if (n > 0) log.LogInformation("Audit log: {Count} records older than {Days} days deleted", n, options.Value.AuditRetentionDays);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                log.LogError(ex, "Audit log pruning failed; trying again in {Interval}", Interval);
            }
            try { await Task.Delay(Interval, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}

/// <summary>
/// Writes the summary record of the requests not recorded one by one (see <see cref="UnauthenticatedRequests"/>) once
/// their minute is over, also when no further request comes to trigger it.
/// </summary>
[Service]
internal sealed class AuditSummaries(UnauthenticatedRequests unauthenticated, AuditMiddleware audit, TimeProvider clock, ILogger<AuditSummaries> log) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await Task.Delay(Interval, clock, stoppingToken); }
            catch (OperationCanceledException) { return; }
            try
            {
                if (unauthenticated.TakeSummary() is { } summary) audit.WriteSummary(summary);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                log.LogError(ex, "Audit log: the summary of the requests not recorded one by one could not be written");
            }
        }
    }
}
