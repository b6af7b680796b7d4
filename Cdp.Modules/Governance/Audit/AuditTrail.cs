using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance.Audit;

/// <summary>
/// The audit log (<see cref="IAuditStore"/>): a record's id is the UTC ticks of the action, bumped by one when two actions
/// share a tick, so the id orders records by time and serves both the cursor (after) and the time range (from/to).
/// Bounded by age (Cdp:Governance:AuditRetentionDays) and by size (Cdp:Governance:AuditMaxRecords: past it the oldest
/// records go first, a hundredth of the bound at a time).
/// </summary>
[Service]
internal sealed class AuditTrail : IMetricsSource
{
    /// <summary>The actor of a request without a valid key.</summary>
    public const string NoKey = "(none)";

    /// <summary>The path of a summary record (requests not recorded one by one).</summary>
    public const string SummaryPath = "(not recorded one by one)";

    private readonly IAuditStore _store;
    private readonly TimeProvider _clock;
    private readonly object _idGate = new();
    private long _lastId;
    private long _recorded;
    private long _denied;
    private long _failed;
    private long _pruned;
    private long _trimmed;
    private long _stored;
    private readonly int _maxRecords;
    private readonly Lock _trimGate = new();

    public AuditTrail(IAuditStore store, TimeProvider clock, IOptions<AuditOptions>? options = null)
    {
        _store = store;
        _clock = clock;
        _maxRecords = options?.Value.AuditMaxRecords ?? new AuditOptions().AuditMaxRecords;
        _lastId = store.LastId();
        _stored = store.Count();
    }

    /// <summary>Records in the audit log now (the size Cdp:Governance:AuditMaxRecords bounds).</summary>
    public long StoredRecords => Interlocked.Read(ref _stored);

    public DateTime UtcNow => _clock.GetUtcNow().UtcDateTime;

    public AuditRecord Append(string actor, string? role, string method, string path, IReadOnlyDictionary<string, string> route,
        string? query, int status, double durationMs, string? action, string? remote = null, long? count = null)
    {
        var at = UtcNow;
        long id;
        lock (_idGate)
        {
            // Time-ordered and unique, also across restarts (_lastId starts at the newest stored record).
            id = Math.Max(_lastId + 1, at.Ticks);
            _lastId = id;
        }
        var record = new AuditRecord(id, at, actor, role, method, path, route, query, status, Math.Round(durationMs, 3), action, remote, count);
        _store.Insert(record);
        Interlocked.Increment(ref _recorded);
        if (Interlocked.Increment(ref _stored) > _maxRecords) Trim();
        if (status is 401 or 403) Interlocked.Increment(ref _denied);
        if (status >= 500) Interlocked.Increment(ref _failed);
        return record;
    }

    /// <summary>
    /// Within [from, to), optionally one actor's: oldest first after the cursor, or with <paramref name="newestFirst"/> newest
    /// first before it (a record's id is its time in ticks, so the cursor is a position in time either way).
    /// </summary>
    public List<AuditRecord> Page(long cursor, int take, string? actor, DateTime? from, DateTime? to, bool newestFirst = false)
    {
        var lower = from is { } f ? f.ToUniversalTime().Ticks - 1 : long.MinValue;
        var upper = to is { } t ? t.ToUniversalTime().Ticks : long.MaxValue;
        if (newestFirst && cursor != 0) upper = Math.Min(upper, cursor);
        else if (!newestFirst) lower = Math.Max(lower, cursor);
        return _store.Page(lower, upper, actor, take, newestFirst);
    }

    /// <summary>Deletes records older than <paramref name="retention"/>; returns how many.</summary>
    public int Prune(TimeSpan retention)
    {
        var cutoff = (UtcNow - retention).Ticks;
        var n = _store.DeleteBefore(cutoff);
        Interlocked.Add(ref _pruned, n);
        Interlocked.Add(ref _stored, -n);
        return n;
    }

    /// <summary>
    /// Over <see cref="AuditOptions.AuditMaxRecords"/>: deletes the oldest records down to the bound less a hundredth of it,
    /// so that trimming runs once per that many records instead of at every append.
    /// </summary>
    private void Trim()
    {
        lock (_trimGate)
        {
            var excess = Interlocked.Read(ref _stored) - _maxRecords;
            if (excess <= 0) return;
            var drop = (int)Math.Min(int.MaxValue, excess + Math.Max(1, _maxRecords / 100));
            var n = _store.DeleteOldest(drop);
            Interlocked.Add(ref _trimmed, n);
            Interlocked.Add(ref _stored, -n);
        }
    }

    /// <summary>
    /// Once per database: records written before keyed hashes get their path, route values and query rewritten by
    /// <paramref name="rewrite"/> (clear searched values and unkeyed SHA-256 hashes become keyed hashes). Batches by id:
    /// ingest and requests go on meanwhile.
    /// </summary>
    public int UpgradeLegacyRecords(Func<AuditRecord, AuditRecord> rewrite) => _store.UpgradeLegacyRecords(rewrite);

    public void Register(CdpMetrics metrics)
    {
        metrics.Counter("cdp_audit_records_total", "Admin actions recorded in the audit log since start.", () => Interlocked.Read(ref _recorded));
        metrics.Counter("cdp_audit_denied_total", "Audited requests answered 401 or 403 since start.", () => Interlocked.Read(ref _denied));
        metrics.Counter("cdp_audit_failed_total", "Audited requests answered with a 5xx since start.", () => Interlocked.Read(ref _failed));
        metrics.Counter("cdp_audit_pruned_total", "Audit records deleted by retention since start.", () => Interlocked.Read(ref _pruned));
        metrics.Counter("cdp_audit_trimmed_total", "Oldest audit records deleted to stay within Cdp:Governance:AuditMaxRecords since start.", () => Interlocked.Read(ref _trimmed));
        metrics.Gauge("cdp_audit_stored_records", "Records in the audit log now (bounded by Cdp:Governance:AuditMaxRecords).", () => Interlocked.Read(ref _stored));
    }
}
