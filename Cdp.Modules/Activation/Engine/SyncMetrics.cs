using System.Collections.Concurrent;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Activation.Engine;

/// <summary>
/// Sync outcomes for GET /metrics, per destination since start: runs by status, and members added, updated, removed and
/// rejected (acknowledged by the destination; dry runs send nothing and count only as runs).
/// </summary>
[Service]
internal sealed class SyncMetrics(IOptions<ActivationOptions> options) : IMetricsSource
{
    private sealed class Totals
    {
        public long Added;
        public long Updated;
        public long Removed;
        public long Rejected;
    }

    private readonly ConcurrentDictionary<(string Destination, string Status), long> _runs = new();
    private readonly ConcurrentDictionary<string, Totals> _members = new(StringComparer.Ordinal);

    public void Record(SyncRunReport report)
    {
        var destination = options.Value.Syncs.TryGetValue(report.Sync, out var s) ? s.Destination : "(unknown)";
        _runs.AddOrUpdate((destination, report.Status), 1, (_, n) => n + 1);
        if (report.Status == SyncRunStatus.DryRun) return;
        var t = _members.GetOrAdd(destination, _ => new Totals());
        Interlocked.Add(ref t.Added, report.Counts.Added);
        Interlocked.Add(ref t.Updated, report.Counts.Updated);
        Interlocked.Add(ref t.Removed, report.Counts.Removed);
        Interlocked.Add(ref t.Rejected, report.Counts.Rejected);
    }

    public void Register(CdpMetrics metrics)
    {
        metrics.Counter("cdp_sync_runs_total", "Sync runs finished since start, by destination and status (succeeded, partial, failed, dry run).",
            () => _runs.OrderBy(p => p.Key.Destination, StringComparer.Ordinal).ThenBy(p => p.Key.Status, StringComparer.Ordinal)
                .Select(p => ((IReadOnlyList<(string, string)>)[("destination", p.Key.Destination), ("status", p.Key.Status)], p.Value)));
        metrics.Counter("cdp_sync_members_total", "Members sent and acknowledged by destinations since start, by destination and change (added, updated, removed), and rows rejected (failed).",
            () => _members.OrderBy(p => p.Key, StringComparer.Ordinal).SelectMany(p => new[]
            {
                ((IReadOnlyList<(string, string)>)[("destination", p.Key), ("change", "added")], Interlocked.Read(ref p.Value.Added)),
                ((IReadOnlyList<(string, string)>)[("destination", p.Key), ("change", "updated")], Interlocked.Read(ref p.Value.Updated)),
                ((IReadOnlyList<(string, string)>)[("destination", p.Key), ("change", "removed")], Interlocked.Read(ref p.Value.Removed)),
                ((IReadOnlyList<(string, string)>)[("destination", p.Key), ("change", "failed")], Interlocked.Read(ref p.Value.Rejected)),
            }));
    }
}
