using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Pipeline.Processing;

/// <summary>The processor's progress: checkpoint, lag behind the log, rate and freshness.</summary>
[Service]
internal sealed class ProcessingMetrics(ProfileProcessor processor) : IMetricsSource
{
    public void Register(CdpMetrics m)
    {
        m.Gauge("cdp_processor_running", "1 when the profile processor's thread runs.", () => processor.Status.Running ? 1 : 0);
        m.Gauge("cdp_processor_leading", "1 on the host that runs the profile processor: always with one host per database; with several (Cdp:Storage:Hosts = Several) the sum over the hosts is 1, and 0 everywhere means no host processes.",
            () => processor.Status.Leading ? 1 : 0);
        m.Gauge("cdp_processor_paused", "1 while an admin has paused processing (POST /api/profiles/processor/pause).", () => processor.Status.Paused ? 1 : 0);
        m.Gauge("cdp_processor_checkpoint", "Sequence of the last processed event.", () => processor.Status.Checkpoint);
        m.Gauge("cdp_processor_lag_events", "Events in the log not yet processed.", () => Math.Max(0, processor.Status.LogHead - processor.Status.Checkpoint));
        m.Counter("cdp_processor_events_total", "Events processed since start.", () => processor.Status.ProcessedSinceStart);
        m.Gauge("cdp_processor_events_per_second", "Recent processing rate.", () => processor.Status.EventsPerSecond);
        m.Gauge("cdp_processor_last_batch_write_ms", "Milliseconds the last batch held the write gate (collection commits wait for it).", () => processor.Status.LastBatchWriteMilliseconds);
        m.Gauge("cdp_processor_dead", "1 when the processor's thread died (commands fail; Cdp stops with exit code 5).", () => processor.Status.Dead ? 1 : 0);
        m.Gauge("cdp_processor_failed_events", "Events set aside because they fail alone, listed at /api/profiles/processor/failures.", () => processor.Status.FailedEvents);
        m.Counter("cdp_processor_events_set_aside_total", "Events set aside since start (a reprocess that fails a listed event again counts it again).", () => processor.Status.SetAsideSinceStart);
        m.Counter("cdp_processor_batch_splits_total", "Failed batches split in halves to find the events that fail, since start.", () => processor.SplitsSinceStart);
        m.Gauge("cdp_processor_environmental_failure", "1 while processing fails for a reason outside the events (I/O, disk full, the engine) and is retried with backoff.",
            () => processor.Status.EnvironmentalError is null ? 0 : 1);
        m.Gauge("cdp_processor_retry_attempts", "Failed attempts in the current environmental failure (0 when processing works).", () => processor.Status.RetryAttempts);
        m.Gauge("cdp_processor_freshness_p95_ms", "95th percentile of event commit to profile commit, recent window.", () => processor.Status.FreshnessP95Milliseconds);
    }
}
