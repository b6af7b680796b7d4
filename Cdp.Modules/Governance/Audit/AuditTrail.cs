using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Governance.Audit;

/// <summary>
/// The audit log in cdp.db (collection "audit"): _id = UTC ticks of the action, bumped by one when two actions share
/// a tick, so the primary index orders records by time and serves both the cursor (after) and the time range (from/to).
/// </summary>
[Service]
internal sealed class AuditTrail : IMetricsSource
{
    public const string CollectionName = "audit";

    private static class Fields
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
    }

    private readonly CdpDatabase _db;
    private readonly TimeProvider _clock;
    private readonly object _idGate = new();
    private long _lastId;
    private long _recorded;
    private long _denied;
    private long _failed;
    private long _pruned;

    public AuditTrail(CdpDatabase db, TimeProvider clock)
    {
        _db = db;
        _clock = clock;
        db.InTransaction(d => d.GetCollection(CollectionName, BsonAutoId.Int64).EnsureIndex(Fields.Actor));
        var last = db.Collection(CollectionName).Query().OrderByDescending("_id").Limit(1).FirstOrDefault();
        _lastId = last is null ? 0 : last["_id"].AsInt64;
    }

    public DateTime UtcNow => _clock.GetUtcNow().UtcDateTime;

    public AuditRecord Append(string actor, string? role, string method, string path, IReadOnlyDictionary<string, string> route,
        string? query, int status, double durationMs, string? action)
    {
        var at = UtcNow;
        long id;
        lock (_idGate)
        {
            // Time-ordered and unique, also across restarts (_lastId starts at the newest stored record).
            id = Math.Max(_lastId + 1, at.Ticks);
            _lastId = id;
        }
        var record = new AuditRecord(id, at, actor, role, method, path, route, query, status, Math.Round(durationMs, 3), action);
        var doc = new BsonDocument
        {
            ["_id"] = id,
            [Fields.At] = at,
            [Fields.Actor] = actor,
            [Fields.Method] = method,
            [Fields.Path] = path,
            [Fields.Status] = status,
            [Fields.DurationMs] = record.DurationMs,
        };
        if (role is not null) doc[Fields.Role] = role;
        if (route.Count > 0) doc[Fields.Route] = new BsonDocument(route.ToDictionary(p => p.Key, p => new BsonValue(p.Value)));
        if (query is not null) doc[Fields.Query] = query;
        if (action is not null) doc[Fields.Action] = action;
        _db.InTransaction(d => d.GetCollection(CollectionName, BsonAutoId.Int64).Insert(doc));
        Interlocked.Increment(ref _recorded);
        if (status is 401 or 403) Interlocked.Increment(ref _denied);
        if (status >= 500) Interlocked.Increment(ref _failed);
        return record;
    }

    /// <summary>Oldest first after the cursor, within [from, to), optionally one actor's.</summary>
    public List<AuditRecord> Page(long after, int take, string? actor, DateTime? from, DateTime? to)
    {
        var lower = Math.Max(after, from is { } f ? f.ToUniversalTime().Ticks - 1 : long.MinValue);
        var upper = to is { } t ? t.ToUniversalTime().Ticks : long.MaxValue;
        var query = _db.Collection(CollectionName).Query();
        if (actor is not null)
            query = query.Where(Filter.EQ(Fields.Actor, actor)).Where(Filter.Inside("_id", lower, upper));
        else
            query = query.Where(Filter.Inside("_id", lower, upper));
        return query.OrderBy("_id").Limit(take).ToList().Select(FromBson).ToList();
    }

    /// <summary>Deletes records older than <paramref name="retention"/>; returns how many.</summary>
    public int Prune(TimeSpan retention)
    {
        var cutoff = (UtcNow - retention).Ticks;
        var n = _db.InTransaction(d => d.GetCollection(CollectionName, BsonAutoId.Int64).DeleteMany(Filter.LT("_id", cutoff)));
        Interlocked.Add(ref _pruned, n);
        return n;
    }

    public void Collect(MetricsWriter metrics)
    {
        metrics.Counter("cdp_audit_records_total", "Admin actions recorded in the audit log since start.", Interlocked.Read(ref _recorded));
        metrics.Counter("cdp_audit_denied_total", "Audited requests answered 401 or 403 since start.", Interlocked.Read(ref _denied));
        metrics.Counter("cdp_audit_failed_total", "Audited requests answered with a 5xx since start.", Interlocked.Read(ref _failed));
        metrics.Counter("cdp_audit_pruned_total", "Audit records deleted by retention since start.", Interlocked.Read(ref _pruned));
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
            d.TryGetValue(Fields.Action, out var a) ? a.AsString : null);
    }
}
