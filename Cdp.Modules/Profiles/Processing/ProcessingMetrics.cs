using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Profiles.Processing;

/// <summary>The processor's progress: checkpoint, lag behind the log, rate and freshness.</summary>
[Service]
internal sealed class ProcessingMetrics(ProfileProcessor processor) : IMetricsSource
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
        m.Gauge("cdp_processor_dead", "1 when the processor's thread died (commands fail; Cdp stops with exit code 5).", s.Dead ? 1 : 0);
        m.Gauge("cdp_processor_failed_events", "Events set aside because they fail alone, listed at /api/profiles/processor/failures.", s.FailedEvents);
        m.Counter("cdp_processor_events_set_aside_total", "Events set aside since start (a reprocess that fails a listed event again counts it again).", s.SetAsideSinceStart);
        m.Counter("cdp_processor_batch_splits_total", "Failed batches split in halves to find the events that fail, since start.", processor.SplitsSinceStart);
        m.Gauge("cdp_processor_environmental_failure", "1 while processing fails for a reason outside the events (I/O, disk full, the engine) and is retried with backoff.",
            s.EnvironmentalError is null ? 0 : 1);
        m.Gauge("cdp_processor_retry_attempts", "Failed attempts in the current environmental failure (0 when processing works).", s.RetryAttempts);
        m.Gauge("cdp_processor_freshness_p95_ms", "95th percentile of event commit to profile commit, recent window.", s.FreshnessP95Milliseconds);
    }
}
