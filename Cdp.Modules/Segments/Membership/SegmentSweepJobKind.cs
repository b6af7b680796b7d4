using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Segments.Membership;

/// <summary>
/// "segment-sweep": the time-window sweep as a recurring job, scheduled by Cdp:SegmentEvaluation:SweepSchedule (see
/// <see cref="SegmentSweepSchedule"/>) or by an entry of Cdp:Scheduling:RecurringJobs. Idempotent: a repeated run
/// re-evaluates the same windows.
/// </summary>
[Service]
internal sealed class SegmentSweepJobKind(SegmentEvaluation evaluation) : IRecurringJobKind
{
    public const string KindName = "segment-sweep";

    public string Name => KindName;

    public bool RunsBesideProcessor => true;

    public Task RunAsync(RecurringJobRun run, CancellationToken cancellationToken)
    {
        evaluation.Sweep();
        return Task.CompletedTask;
    }
}

/// <summary>Gives Scheduling the recurring job "segment-sweep" from Cdp:SegmentEvaluation:SweepSchedule (UTC); none when it is empty.</summary>
[Service]
internal sealed class SegmentSweepSchedule(IOptions<SegmentEvaluationOptions> options) : IRecurringJobSource
{
    public const string JobId = "segment-sweep";

    public IReadOnlyList<RecurringJobDefinition> RecurringJobs() => string.IsNullOrWhiteSpace(options.Value.SweepSchedule)
        ? []
        : [new RecurringJobDefinition(JobId, SegmentSweepJobKind.KindName, options.Value.SweepSchedule.Trim(), "UTC",
            new Dictionary<string, string>(), SegmentEvaluationOptions.Section + ":" + nameof(SegmentEvaluationOptions.SweepSchedule))];
}
