using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cdp.Modules.Collection.Statistics;

/// <summary>One minute's ingest counts.</summary>
internal sealed record IngestCounts(long Accepted, long DeadLettered, long Rejected);

/// <summary>One bar of the overview's chart: the counts of the minutes from <see cref="Start"/> on.</summary>
internal sealed record IngestBucket(DateTime Start, long Accepted, long DeadLettered, long Rejected);

internal sealed record IngestStatisticsReport(string Range, int BucketSeconds, DateTime From, DateTime To, IngestCounts Totals,
    IReadOnlyList<IngestBucket> Buckets);

/// <summary>
/// Events accepted, dead-lettered and requests rejected per minute for the last 7 days, kept as counters (never by reading
/// events): the ingest path's own Interlocked totals are sampled and each difference is added to the minute it fell in.
/// Nothing is recorded per event. Each hour's minutes are one small document (a row on PostgreSQL), to which this host's counts are added when a minute
/// ends (with several hosts, at every sample, and a report reads every host's from the store), so the
/// history survives a restart (the minute running at a crash is lost).
/// </summary>
[Service]
internal sealed class IngestStatistics(EventLogWriter writer, RejectedRequests rejected, IIngestStatisticsStore store, TimeProvider clock, HostLead lead,
    ILogger<IngestStatistics> log)
    : BackgroundService
{
    /// <summary>The overview's longest range.</summary>
    public static readonly TimeSpan Kept = TimeSpan.FromDays(7);

    /// <summary>A difference is put in the minute it is seen in: sampling this often keeps it within seconds of when it happened.</summary>
    private static readonly TimeSpan SampleInterval = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private SortedDictionary<long, long[]> _hours = []; // hour number -> [minute * 3 + (accepted, dead lettered, rejected)]
    private readonly SortedDictionary<long, long[]> _unsaved = []; // this host's counts not yet added to the store
    private (long Accepted, long Dead, long Rejected) _seen;
    private long _lastMinute = -1;
    private bool _loaded;

    public static readonly IReadOnlyDictionary<string, (TimeSpan Range, TimeSpan Bucket)> Ranges = new Dictionary<string, (TimeSpan, TimeSpan)>
    {
        ["1h"] = (TimeSpan.FromHours(1), TimeSpan.FromMinutes(5)),
        ["24h"] = (TimeSpan.FromHours(24), TimeSpan.FromHours(1)),
        ["7d"] = (TimeSpan.FromDays(7), TimeSpan.FromHours(6)),
    };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(SampleInterval, clock);
        try
        {
            do
            {
                try { Sample(); }
                catch (Exception ex) when (ex is not OperationCanceledException) { log.LogWarning(ex, "Ingest statistics: sampling failed; trying again"); }
            } while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>Adds what the ingest counters gained since the last sample to the current minute; writes the hour of a minute that ended.</summary>
    public void Sample()
    {
        lock (_gate)
        {
            Load();
            var now = clock.GetUtcNow().UtcDateTime;
            var minute = now.Ticks / TimeSpan.TicksPerMinute;
            long accepted = Interlocked.Read(ref writer.CommittedEvents), dead = Interlocked.Read(ref writer.DeadLetteredEvents), refused = rejected.Total;
            var hour = minute / 60;
            var at = (int)(minute % 60) * 3;
            var gained = (accepted - _seen.Accepted, dead - _seen.Dead, refused - _seen.Rejected);
            _seen = (accepted, dead, refused);
            foreach (var hours in new[] { _hours, _unsaved })
            {
                if (!hours.TryGetValue(hour, out var counts)) hours[hour] = counts = new long[180];
                counts[at] += gained.Item1;
                counts[at + 1] += gained.Item2;
                counts[at + 2] += gained.Item3;
            }
            // one host: written when a minute ends; several: at every sample, so the others see this host's counts within seconds
            if ((_lastMinute >= 0 && minute != _lastMinute) || (lead.Shared && gained != (0, 0, 0))) Save();
            _lastMinute = minute;
        }
    }

    public IngestStatisticsReport Report(string range)
    {
        var (span, bucket) = Ranges[range];
        Sample();
        lock (_gate)
        {
            if (lead.Shared) Reload(); // the other hosts' counts too
            var to = clock.GetUtcNow().UtcDateTime;
            var bucketMinutes = (long)bucket.TotalMinutes;
            var lastBucket = to.Ticks / TimeSpan.TicksPerMinute / bucketMinutes;
            var firstBucket = lastBucket - (long)(span / bucket) + 1;
            var buckets = new List<IngestBucket>();
            long a = 0, d = 0, r = 0;
            for (var b = firstBucket; b <= lastBucket; b++)
            {
                long ba = 0, bd = 0, br = 0;
                for (var m = b * bucketMinutes; m < (b + 1) * bucketMinutes; m++)
                {
                    if (!_hours.TryGetValue(m / 60, out var counts)) continue;
                    var at = (int)(m % 60) * 3;
                    ba += counts[at]; bd += counts[at + 1]; br += counts[at + 2];
                }
                buckets.Add(new IngestBucket(new DateTime(b * bucketMinutes * TimeSpan.TicksPerMinute, DateTimeKind.Utc), ba, bd, br));
                a += ba; d += bd; r += br;
            }
            return new IngestStatisticsReport(range, (int)bucket.TotalSeconds, buckets[0].Start, to, new IngestCounts(a, d, r), buckets);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            lock (_gate) if (_lastMinute >= 0) Save();
        }
        catch (Exception ex)
        {
            log.LogWarning(ex, "Ingest statistics: the last minute could not be written");
        }
    }

    private void Load()
    {
        if (_loaded) return;
        _loaded = true;
        var oldest = (clock.GetUtcNow().UtcDateTime - Kept).Ticks / TimeSpan.TicksPerHour;
        foreach (var (hour, counts) in store.Load(oldest)) _hours[hour] = counts;
    }

    /// <summary>
    /// Adds this host's unsaved counts to the stored hours (kept for the next attempt when that fails), then forgets hours
    /// past <see cref="Kept"/>.
    /// </summary>
    private void Save()
    {
        var oldest = (clock.GetUtcNow().UtcDateTime - Kept).Ticks / TimeSpan.TicksPerHour;
        if (_unsaved.Count > 0)
        {
            store.Add(_unsaved, oldest);
            _unsaved.Clear();
        }
        foreach (var old in _hours.Keys.Where(h => h < oldest).ToList()) _hours.Remove(old);
    }

    /// <summary>Several hosts: the stored hours (every host's saved counts) plus this host's unsaved ones.</summary>
    private void Reload()
    {
        var oldest = (clock.GetUtcNow().UtcDateTime - Kept).Ticks / TimeSpan.TicksPerHour;
        var hours = new SortedDictionary<long, long[]>(store.Load(oldest).ToDictionary(h => h.Key, h => h.Value));
        foreach (var (hour, counts) in _unsaved)
        {
            if (!hours.TryGetValue(hour, out var sum)) hours[hour] = sum = new long[180];
            for (var i = 0; i < counts.Length && i < sum.Length; i++) sum[i] += counts[i];
        }
        _hours = hours;
    }

    public static void Map(IEndpointRouteBuilder group) =>
        group.MapGet("/stats", Results<Ok<IngestStatisticsReport>, ProblemHttpResult> (IngestStatistics statistics, string? range) =>
        {
            var r = string.IsNullOrEmpty(range) ? "24h" : range;
            if (!Ranges.ContainsKey(r))
                return TypedResults.Problem(title: "Unknown range", detail: $"range must be one of {string.Join(", ", Ranges.Keys)}", statusCode: 400);
            return TypedResults.Ok(statistics.Report(r));
        }).WithName("IngestStatistics")
        .WithSummary("Events accepted, dead-lettered and requests rejected per bucket over the last hour (5 min), 24 h (1 h) or 7 days (6 h), kept as counters");
}
