using System.Globalization;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance.Audit;

/// <summary>Gives Scheduling the recurring job "tracking-plan-digest" on Cdp:Governance:TrackingPlanDigestSchedule (UTC), when set.</summary>
[Service]
internal sealed class TrackingPlanDigestSchedule(IOptions<AuditOptions> options) : IRecurringJobSource
{
    public IReadOnlyList<RecurringJobDefinition> RecurringJobs() => string.IsNullOrWhiteSpace(options.Value.TrackingPlanDigestSchedule)
        ? []
        : [new RecurringJobDefinition(TrackingPlanDigest.KindName, TrackingPlanDigest.KindName, options.Value.TrackingPlanDigestSchedule.Trim(), "UTC",
            new Dictionary<string, string>(), AuditOptions.Section + ":" + nameof(AuditOptions.TrackingPlanDigestSchedule))];
}

/// <summary>
/// "tracking-plan-digest": one audit record (actor "(tracking plans)", path "(tracking plan digest)") whose count is the
/// violations of the last 24 hours and whose action names the most frequent ones, e.g. "tracking plan violations in the
/// 24 h to 2026-12-05T06:00Z: 31; web Order Completed properties.revenue invalid_property x12; ...". Written also when
/// there were none (so a quiet day reads as checked). The values are never in it: the API keeps masked examples.
/// </summary>
[Service]
internal sealed class TrackingPlanDigest(ITrackingPlans plans, AuditTrail trail) : IRecurringJobKind
{
    public const string KindName = "tracking-plan-digest";
    public const string Actor = "(tracking plans)";
    public const string Path = "(tracking plan digest)";
    private const int Listed = 10;

    public string Name => KindName;

    public Task RunAsync(RecurringJobRun run, CancellationToken cancellationToken)
    {
        Write();
        return Task.CompletedTask;
    }

    public AuditRecord Write()
    {
        var to = trail.UtcNow;
        var counts = plans.ViolationsSince(to.AddHours(-24));
        var total = counts.Sum(c => c.Count);
        var top = counts.Take(Listed).Select(c => $"{c.Source} {(c.Event.Length > 0 ? c.Event : c.Type)} {(c.Property.Length > 0 ? c.Property + " " : "")}{c.Kind} x{c.Count}");
        var action = $"tracking plan violations in the 24 h to {to.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture)}: {total}"
            + (counts.Count == 0 ? "" : "; " + string.Join("; ", top) + (counts.Count > Listed ? $"; and {counts.Count - Listed} more kinds" : ""));
        return trail.Append(Actor, null, "*", Path, new Dictionary<string, string>(), null, 0, 0, AuditMiddleware.Truncate(action), null, total);
    }
}
