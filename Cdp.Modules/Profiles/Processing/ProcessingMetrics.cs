using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Profiles.Processing;

/// <summary>The processor's progress: checkpoint, lag behind the log, rate and freshness.</summary>
[Service]
internal sealed class ProcessingMetrics(IProfileProcessor processor) : IMetricsSource
{
    public void Collect(MetricsWriter m)
    {
        var s = processor.Status;
        m.Gauge("cdp_processor_running", "1 when the profile processor's thread runs.", s.Running ? 1 : 0);
        m.Gauge("cdp_processor_paused", "1 while an admin has paused processing (POST /api/profiles/processor/pause).", s.Paused ? 1 : 0);
        m.Gauge("cdp_processor_checkpoint", "Sequence of the last processed event.", s.Checkpoint);
        m.Gauge("cdp_processor_lag_events", "Events in the log not yet processed.", Math.Max(0, s.LogHead - s.Checkpoint));
        m.Counter("cdp_processor_events_total", "Events processed since start.", s.ProcessedSinceStart);
        m.Gauge("cdp_processor_events_per_second", "Recent processing rate.", s.EventsPerSecond);
        m.Gauge("cdp_processor_last_batch_write_ms", "Milliseconds the last batch held the write gate (collection commits wait for it).", s.LastBatchWriteMilliseconds);
        m.Gauge("cdp_processor_freshness_p95_ms", "95th percentile of event commit to profile commit, recent window.", s.FreshnessP95Milliseconds);
    }
}
