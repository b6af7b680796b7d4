using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Segments.Membership;

/// <summary>
/// "segment-sweep": the time-window sweep as a recurring job, e.g.
/// <c>Cdp:Scheduling:RecurringJobs:segment-sweep = { "Kind": "segment-sweep", "Cron": "5 0 * * *" }</c>
/// (then Cdp:SegmentEvaluation:DailySweep can be turned off). Idempotent: a repeated run re-evaluates the same windows.
/// </summary>
[Service]
internal sealed class SegmentSweepJobKind(SegmentEvaluation evaluation) : IRecurringJobKind
{
    public const string KindName = "segment-sweep";

    public string Name => KindName;

    public Task RunAsync(RecurringJobRun run, CancellationToken cancellationToken)
    {
        evaluation.Sweep();
        return Task.CompletedTask;
    }
}
