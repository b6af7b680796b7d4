using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance.Audit;

/// <summary>
/// The audit log in cdp.db (collection "audit"): _id = UTC ticks of the action, bumped by one when two actions share
/// a tick, so the primary index orders records by time and serves both the cursor (after) and the time range (from/to).
/// Bounded by age (Cdp:Governance:AuditRetentionDays) and by size (Cdp:Governance:AuditMaxRecords: past it the oldest
/// records go first, a hundredth of the bound at a time).
/// </summary>
[Service]
internal sealed class AuditTrail : IMetricsSource
{
    public const string CollectionName = "audit";

    /// <summary>Which records already hold keyed hashes (see <see cref="UpgradeLegacyRecords"/>).</summary>
    public const string MetaCollectionName = "audit_meta";

    /// <summary>The actor of a request without a valid key.</summary>
    public const string NoKey = "(none)";

    /// <summary>The path of a summary record (requests not recorded one by one).</summary>
    public const string SummaryPath = "(not recorded one by one)";

    /// <summary>Records written with keyed hashes carry "v": 2; older ones are rewritten once (<see cref="UpgradeLegacyRecords"/>).</summary>
    public const int KeyedHashVersion = 2;

    private const int UpgradeBatch = 500;

    internal static class Fields
    {
        public const string At = "at";
        public const string Actor = "actor";
        public const string Role = "role";
        public const string Method = "method";
        public const string Path = "path";
        public const string Route = "route";
        public const string Query = "query";
        public const string Status = "status";
        public const string DurationMs = "ms";
        public const string Action = "action";
        public const string Remote = "remote";
        public const string Count = "count";
        public const string Version = "v";
    }

    private readonly CdpDatabase _db;
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

    public AuditTrail(CdpDatabase db, TimeProvider clock, IOptions<AuditOptions>? options = null)
    {
        _db = db;
        _clock = clock;
        _maxRecords = options?.Value.AuditMaxRecords ?? new AuditOptions().AuditMaxRecords;
        db.InTransaction(d => d.GetCollection(CollectionName, BsonAutoId.Int64).EnsureIndex(Fields.Actor));
        var last = db.Collection(CollectionName).Query().OrderByDescending("_id").Limit(1).FirstOrDefault();
        _lastId = last is null ? 0 : last["_id"].AsInt64;
        _stored = db.Collection(CollectionName).Count();
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
        var doc = new BsonDocument
        {
            ["_id"] = id,
            [Fields.At] = at,
            [Fields.Actor] = actor,
            [Fields.Method] = method,
            [Fields.Path] = path,
            [Fields.Status] = status,
            [Fields.DurationMs] = record.DurationMs,
            [Fields.Version] = KeyedHashVersion,
        };
        if (role is not null) doc[Fields.Role] = role;
        if (route.Count > 0) doc[Fields.Route] = new BsonDocument(route.ToDictionary(p => p.Key, p => new BsonValue(p.Value)));
        if (query is not null) doc[Fields.Query] = query;
        if (action is not null) doc[Fields.Action] = action;
        if (remote is not null) doc[Fields.Remote] = remote;
        if (count is not null) doc[Fields.Count] = count.Value;
        _db.InTransaction(d => d.GetCollection(CollectionName, BsonAutoId.Int64).Insert(doc));
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
        var query = _db.Collection(CollectionName).Query();
        if (actor is not null)
            query = query.Where(Filter.EQ(Fields.Actor, actor)).Where(Filter.Inside("_id", lower, upper));
        else
            query = query.Where(Filter.Inside("_id", lower, upper));
        return (newestFirst ? query.OrderByDescending("_id") : query.OrderBy("_id")).Limit(take).ToList().Select(FromBson).ToList();
    }

    /// <summary>Deletes records older than <paramref name="retention"/>; returns how many.</summary>
    public int Prune(TimeSpan retention)
    {
        var cutoff = (UtcNow - retention).Ticks;
        var n = _db.InTransaction(d => d.GetCollection(CollectionName, BsonAutoId.Int64).DeleteMany(Filter.LT("_id", cutoff)));
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
            var n = _db.InTransaction(d =>
            {
                var c = d.GetCollection(CollectionName, BsonAutoId.Int64);
                var first = c.Query().OrderBy("_id").Offset(drop).Limit(1).FirstOrDefault();
                return first is null ? c.DeleteAll() : c.DeleteMany(Filter.LT("_id", first["_id"]));
            });
            Interlocked.Add(ref _trimmed, n);
            Interlocked.Add(ref _stored, -n);
        }
    }

    /// <summary>
    /// Once per database: records written before keyed hashes get their path, route values and query rewritten by
    /// <paramref name="rewrite"/> (clear searched values and unkeyed SHA-256 hashes become keyed hashes); then a marker in
    /// <see cref="MetaCollectionName"/> says it is done. Batches by id: ingest and requests go on meanwhile.
    /// </summary>
    public int UpgradeLegacyRecords(Func<BsonDocument, BsonDocument> rewrite)
    {
        var meta = _db.Collection(MetaCollectionName).FindById("hashes");
        if (meta is not null && meta[Fields.Version].AsInt32 >= KeyedHashVersion) return 0;
        var upgraded = 0;
        var after = long.MinValue;
        while (true)
        {
            var page = _db.Collection(CollectionName).Query().Where(Filter.GT("_id", after)).OrderBy("_id").Limit(UpgradeBatch).ToList();
            if (page.Count == 0) break;
            after = page[^1]["_id"].AsInt64;
            var legacy = page.Where(d => !d.ContainsKey(Fields.Version)).Select(rewrite).ToList();
            if (legacy.Count == 0) continue;
            foreach (var d in legacy) d[Fields.Version] = KeyedHashVersion;
            _db.InTransaction(d =>
            {
                var c = d.GetCollection(CollectionName, BsonAutoId.Int64);
                foreach (var doc in legacy) c.Update(doc);
            });
            upgraded += legacy.Count;
        }
        _db.InTransaction(d => d.GetCollection(MetaCollectionName, BsonAutoId.Int64)
            .Upsert(new BsonDocument { ["_id"] = "hashes", [Fields.Version] = KeyedHashVersion }));
        return upgraded;
    }

    public void Register(CdpMetrics metrics)
    {
        metrics.Counter("cdp_audit_records_total", "Admin actions recorded in the audit log since start.", () => Interlocked.Read(ref _recorded));
        metrics.Counter("cdp_audit_denied_total", "Audited requests answered 401 or 403 since start.", () => Interlocked.Read(ref _denied));
        metrics.Counter("cdp_audit_failed_total", "Audited requests answered with a 5xx since start.", () => Interlocked.Read(ref _failed));
        metrics.Counter("cdp_audit_pruned_total", "Audit records deleted by retention since start.", () => Interlocked.Read(ref _pruned));
        metrics.Counter("cdp_audit_trimmed_total", "Oldest audit records deleted to stay within Cdp:Governance:AuditMaxRecords since start.", () => Interlocked.Read(ref _trimmed));
        metrics.Gauge("cdp_audit_stored_records", "Records in the audit log now (bounded by Cdp:Governance:AuditMaxRecords).", () => Interlocked.Read(ref _stored));
    }

    private static AuditRecord FromBson(BsonDocument d)
    {
        var route = d.TryGetValue(Fields.Route, out var r) && r.IsDocument
            ? r.AsDocument.ToDictionary(p => p.Key, p => p.Value.AsString)
            : new Dictionary<string, string>();
        return new AuditRecord(
            d["_id"].AsInt64,
            DateTime.SpecifyKind(d[Fields.At].AsDateTime.ToUniversalTime(), DateTimeKind.Utc),
            d[Fields.Actor].AsString,
            d.TryGetValue(Fields.Role, out var role) ? role.AsString : null,
            d[Fields.Method].AsString,
            d[Fields.Path].AsString,
            route,
            d.TryGetValue(Fields.Query, out var q) ? q.AsString : null,
            d[Fields.Status].AsInt32,
            d[Fields.DurationMs].AsDouble,
            d.TryGetValue(Fields.Action, out var a) ? a.AsString : null,
            d.TryGetValue(Fields.Remote, out var remote) ? remote.AsString : null,
            d.TryGetValue(Fields.Count, out var count) ? count.AsInt64 : null);
    }
}
