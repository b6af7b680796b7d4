using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Collection.EventLog;

/// <summary>Ingest counters since start, and the log's state.</summary>
[Service]
internal sealed class CollectionMetrics(EventLogWriter writer, LogHead head, RejectedRequests rejected, Ingest.EventNormaliser normaliser, Ingest.SdkMetricsRequests sdkMetrics) : IMetricsSource
{
    public void Register(CdpMetrics m)
    {
        m.Counter("cdp_events_accepted_total", "Events committed to the event log since start.", () => Interlocked.Read(ref writer.CommittedEvents));
        m.Counter("cdp_events_duplicate_total", "Events acknowledged but not stored again (same messageId within the dedup window).", () => Interlocked.Read(ref writer.DuplicateEvents));
        m.Counter("cdp_events_dead_lettered_total", "Events that failed validation, kept as dead letters.", () => Interlocked.Read(ref writer.DeadLetteredEvents));
        m.Counter("cdp_events_suppressed_total", "Events acknowledged but not stored: they carried a suppressed identifier (a deleted person's).", () => Interlocked.Read(ref writer.SuppressedEvents));
        m.Counter("cdp_requests_rejected_total", "Tracking API requests refused (400, 401, 403, 413, 429, 503); nothing of them was stored.", () => rejected.Total);
        m.Counter("cdp_event_time_clamped_total", "Events whose corrected time was before 2000 or later than receivedAt + Cdp:Collection:MaxFutureSkew; stored at receivedAt, the client's value kept in originalTimestamp.", () => Interlocked.Read(ref normaliser.ClampedTimes));
        m.Counter("cdp_sdk_metrics_requests_total", "POST /v1/m requests (analytics.js's own telemetry): answered 200, not stored.", () => sdkMetrics.Total);
        m.Counter("cdp_event_log_commits_total", "Group commits of the event log.", () => Interlocked.Read(ref writer.Commits));
        m.Counter("cdp_event_log_commit_failures_total", "Group commits that failed (their requests got 503).", () => Interlocked.Read(ref writer.CommitFailures));
        m.Gauge("cdp_ingest_queue_events", "Events waiting for the group commit.", () => writer.PendingEvents);
        m.Gauge("cdp_event_log_last_sequence", "Sequence of the newest committed event.", () => head.Last);
        m.Gauge("cdp_dedup_entries", "messageIds remembered for deduplication (at most Cdp:Collection:DedupMaxEntries).", () => writer.DedupEntries);
        m.Counter("cdp_dedup_evicted_early_total", "messageIds forgotten before the end of the dedup window because DedupMaxEntries was reached.", () => writer.DedupEvictedEarly);
    }
}

/// <summary>Counts Tracking API requests answered with an error status.</summary>
[Service]
internal sealed class RejectedRequests
{
    private long _total;

    public long Total => Interlocked.Read(ref _total);

    public void Add() => Interlocked.Increment(ref _total);
}
