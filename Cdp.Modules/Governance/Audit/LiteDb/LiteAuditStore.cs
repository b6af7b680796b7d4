using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Governance.Audit.LiteDb;

/// <summary>
/// The audit log in cdp.db: collection "audit" (_id = the record's id, so the primary index orders by time; indexed by
/// actor) and "audit_meta" (which records already hold keyed hashes).
/// </summary>
internal sealed class LiteAuditStore : IAuditStore
{
    public const string CollectionName = "audit";
    public const string MetaCollectionName = "audit_meta";

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

    public LiteAuditStore(CdpDatabase db)
    {
        _db = db;
        db.InTransaction(d => d.GetCollection(CollectionName, BsonAutoId.Int64).EnsureIndex(Fields.Actor));
    }

    public long LastId() => _db.Collection(CollectionName).Query().OrderByDescending("_id").Limit(1).FirstOrDefault() is { } last ? last["_id"].AsInt64 : 0;

    public long Count() => _db.Collection(CollectionName).Count();

    public void Insert(AuditRecord record) => _db.InTransaction(d => d.GetCollection(CollectionName, BsonAutoId.Int64).Insert(ToBson(record)));

    public List<AuditRecord> Page(long lower, long upper, string? actor, int take, bool newestFirst)
    {
        var query = _db.Collection(CollectionName).Query();
        if (actor is not null)
            query = query.Where(Filter.EQ(Fields.Actor, actor)).Where(Filter.Inside("_id", lower, upper));
        else
            query = query.Where(Filter.Inside("_id", lower, upper));
        return (newestFirst ? query.OrderByDescending("_id") : query.OrderBy("_id")).Limit(take).ToList().Select(FromBson).ToList();
    }

    public int DeleteBefore(long id) => _db.InTransaction(d => d.GetCollection(CollectionName, BsonAutoId.Int64).DeleteMany(Filter.LT("_id", id)));

    public int DeleteOldest(int count) => _db.InTransaction(d =>
    {
        var c = d.GetCollection(CollectionName, BsonAutoId.Int64);
        var first = c.Query().OrderBy("_id").Offset(count).Limit(1).FirstOrDefault();
        return first is null ? c.DeleteAll() : c.DeleteMany(Filter.LT("_id", first["_id"]));
    });

    public int UpgradeLegacyRecords(Func<AuditRecord, AuditRecord> rewrite)
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
            var legacy = page.Where(d => !d.ContainsKey(Fields.Version)).Select(d => ToBson(rewrite(FromBson(d)))).ToList();
            if (legacy.Count == 0) continue;
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

    private static BsonDocument ToBson(AuditRecord r)
    {
        var doc = new BsonDocument
        {
            ["_id"] = r.Id,
            [Fields.At] = r.At,
            [Fields.Actor] = r.Actor,
            [Fields.Method] = r.Method,
            [Fields.Path] = r.Path,
            [Fields.Status] = r.Status,
            [Fields.DurationMs] = r.DurationMs,
            [Fields.Version] = KeyedHashVersion,
        };
        if (r.Role is not null) doc[Fields.Role] = r.Role;
        if (r.Route.Count > 0) doc[Fields.Route] = new BsonDocument(r.Route.ToDictionary(p => p.Key, p => new BsonValue(p.Value)));
        if (r.Query is not null) doc[Fields.Query] = r.Query;
        if (r.Action is not null) doc[Fields.Action] = r.Action;
        if (r.Remote is not null) doc[Fields.Remote] = r.Remote;
        if (r.Count is not null) doc[Fields.Count] = r.Count.Value;
        return doc;
    }

    /// <summary>Lenient with records of older versions (a route value that is not text reads as its text form).</summary>
    private static AuditRecord FromBson(BsonDocument d)
    {
        var route = d.TryGetValue(Fields.Route, out var r) && r.IsDocument
            ? r.AsDocument.ToDictionary(p => p.Key, p => p.Value.IsString ? p.Value.AsString : p.Value.ToString())
            : new Dictionary<string, string>();
        return new AuditRecord(
            d["_id"].AsInt64,
            DateTime.SpecifyKind(d[Fields.At].AsDateTime.ToUniversalTime(), DateTimeKind.Utc),
            d[Fields.Actor].AsString,
            d.TryGetValue(Fields.Role, out var role) ? role.AsString : null,
            d[Fields.Method].AsString,
            d.TryGetValue(Fields.Path, out var path) && path.IsString ? path.AsString : "",
            route,
            d.TryGetValue(Fields.Query, out var q) && q.IsString ? q.AsString : null,
            d[Fields.Status].AsInt32,
            d[Fields.DurationMs].AsDouble,
            d.TryGetValue(Fields.Action, out var a) && a.IsString ? a.AsString : null,
            d.TryGetValue(Fields.Remote, out var remote) ? remote.AsString : null,
            d.TryGetValue(Fields.Count, out var count) ? count.AsInt64 : null);
    }
}
