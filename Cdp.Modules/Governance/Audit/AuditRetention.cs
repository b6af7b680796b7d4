using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance.Audit;

/// <summary>At start: rewrites records from before keyed hashes, then prunes once (the recurring job does it after).</summary>
[Service]
internal sealed class AuditRetention(AuditTrail trail, AuditMiddleware audit, IOptions<AuditOptions> options, ILogger<AuditRetention> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            var n = trail.UpgradeLegacyRecords(audit.RewriteLegacy);
            if (n > 0) log.LogInformation("Audit log: {Count} records from before keyed hashes rewritten (searched values and identifiers now keyed hashes)", n);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            log.LogError(ex, "Audit log: rewriting the records from before keyed hashes failed; trying again at the next start");
        }
        try
        {
            Prune(trail, options.Value, log);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            log.LogError(ex, "Audit log pruning failed; the recurring job \"{JobId}\" tries again", AuditRetentionSchedule.JobId);
        }
    }

    public static void Prune(AuditTrail trail, AuditOptions options, ILogger log)
    {
        var n = trail.Prune(TimeSpan.FromDays(options.AuditRetentionDays));
        if (n > 0) log.LogInformation("Audit log: {Count} records older than {Days} days deleted", n, options.AuditRetentionDays);
    }
}

/// <summary>Gives Scheduling the recurring job "audit-retention" (kind "audit-retention") on Cdp:Governance:AuditRetentionSchedule (UTC).</summary>
[Service]
internal sealed class AuditRetentionSchedule(IOptions<AuditOptions> options) : IRecurringJobSource
{
    public const string JobId = AuditRetentionJobKind.KindName;

    public IReadOnlyList<RecurringJobDefinition> RecurringJobs() =>
        [new RecurringJobDefinition(JobId, AuditRetentionJobKind.KindName, options.Value.AuditRetentionSchedule.Trim(), "UTC",
            new Dictionary<string, string>(), AuditOptions.Section + ":" + nameof(AuditOptions.AuditRetentionSchedule))];
}

/// <summary>"audit-retention": deletes audit records older than Cdp:Governance:AuditRetentionDays. Idempotent.</summary>
[Service]
internal sealed class AuditRetentionJobKind(AuditTrail trail, IOptions<AuditOptions> options, ILogger<AuditRetentionJobKind> log) : IRecurringJobKind
{
    public const string KindName = "audit-retention";

    public string Name => KindName;

    public Task RunAsync(RecurringJobRun run, CancellationToken cancellationToken)
    {
        AuditRetention.Prune(trail, options.Value, log);
        return Task.CompletedTask;
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
