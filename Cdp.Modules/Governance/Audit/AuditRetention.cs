using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance.Audit;

/// <summary>Deletes audit records older than Cdp:Governance:AuditRetentionDays, at start and then every few hours.</summary>
[Service]
internal sealed class AuditRetention(AuditTrail trail, IOptions<AuditOptions> options, ILogger<AuditRetention> log) : BackgroundService
{
    /// <summary>Retention is counted in days: pruning a few times a day keeps the log within a few hours of it.</summary>
    private static readonly TimeSpan Interval = TimeSpan.FromHours(6);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var retention = TimeSpan.FromDays(options.Value.AuditRetentionDays);
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
