using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;

namespace Cdp.Modules.Identity.Graph.LiteDb;

/// <summary>The identity graph in LiteDB: one collection per kind of record (<see cref="Collections"/>), documents as in <see cref="IdentityBson"/>.</summary>
internal sealed class LiteIdentityStore(CdpDatabase db) : IIdentityStore
{
    internal static class Collections
    {
        public const string Nodes = "identity_nodes";
        public const string Keys = "identity_keys";
        public const string Merges = "identity_merges";
        public const string Quarantine = "identity_quarantine";
        public const string Unmerges = "identity_unmerges";
        public const string Links = "identity_links";
        public const string Carriers = "identity_carriers"; // _id: the key's hash in hex (no identifier in clear text), s: varint sequences
    }

    /// <summary>The document id of a key hash (identity_carriers): no identifier in clear text.</summary>
    private static string HashId(UInt128 h) => h.ToString("x32");

    private static UInt128 ParseHashId(string id) => UInt128.Parse(id, System.Globalization.NumberStyles.HexNumber);

    public IEnumerable<IdentityNode> LiveNodes() =>
        db.Collection(Collections.Nodes).FindAll().Where(d => !d.ContainsKey("into")).Select(IdentityBson.Node);

    public IdentityNode? Node(long profile) => db.Collection(Collections.Nodes).ById(profile) is { } d ? IdentityBson.Node(d) : null;

    public KeyRecord? Key(string key) => db.Collection(Collections.Keys).ById(key) is { } d ? IdentityBson.Key(d) : null;

    public MergeRecord? Merge(string id) => db.Collection(Collections.Merges).ById(id) is { } d ? IdentityBson.Merge(d) : null;

    public QuarantineRecord? QuarantineEntry(string id) => db.Collection(Collections.Quarantine).ById(id) is { } d ? IdentityBson.Quarantine(d) : null;

    public IEnumerable<QuarantineRecord> Quarantined(string kind) =>
        db.Collection(Collections.Quarantine).Find(Filter.EQ("kind", kind)).Select(IdentityBson.Quarantine);

    public IReadOnlyList<QuarantineRecord> QuarantinePage(int skip, int take) =>
        db.Collection(Collections.Quarantine).Query().OrderBy("$.seq").Skip(skip).Limit(take).ToList().Select(IdentityBson.Quarantine).ToList();

    public IEnumerable<UnmergeDirective> Unmerges() => db.Collection(Collections.Unmerges).FindAll().Select(IdentityBson.Unmerge);

    public IEnumerable<(UInt128 Hash, List<long> Events)> Carriers() =>
        db.Collection(Collections.Carriers).FindAll().Select(c => (ParseHashId(c["_id"].AsString), Varint.Decode(c["s"].AsBinary)));

    public IEnumerable<LinkRecord> Links(string? status = null) =>
        (status is null ? db.Collection(Collections.Links).FindAll() : db.Collection(Collections.Links).Find(Filter.EQ("st", status)))
        .Select(IdentityBson.Link);

    public IEnumerable<IdentityNode> AllNodes() => db.Collection(Collections.Nodes).FindAll().Select(IdentityBson.Node);

    public IEnumerable<KeyRecord> AllKeys() => db.Collection(Collections.Keys).FindAll().Select(IdentityBson.Key);

    public IEnumerable<MergeRecord> AllMerges() => db.Collection(Collections.Merges).FindAll().Select(IdentityBson.Merge);

    public IEnumerable<QuarantineRecord> AllQuarantine() => db.Collection(Collections.Quarantine).FindAll().Select(IdentityBson.Quarantine);

    public void Write(IUnitOfWork tx, IdentityChanges c)
    {
        var db = tx.Lite();
        var nodes = db.GetCollection(Collections.Nodes);
        foreach (var p in c.DeletedNodes) nodes.Delete(p);
        // one call per kind of write: LiteDB's per-call overhead is paid once per batch
        if (c.NewNodes.Count > 0) nodes.Insert(c.NewNodes.Select(n => n.ToBson()));
        if (c.Replay) nodes.Upsert(c.ChangedNodes.Select(n => n.ToBson()));
        else if (c.ChangedNodes.Count > 0) nodes.Update(c.ChangedNodes.Select(n => n.ToBson()));
        var keys = db.GetCollection(Collections.Keys);
        foreach (var k in c.DeletedKeys) keys.Delete(k);
        if (c.NewKeys.Count > 0) keys.Insert(c.NewKeys.Select(k => k.ToBson()));
        if (c.ChangedKeys.Count > 0) keys.Upsert(c.ChangedKeys.Select(k => k.ToBson()));
        var merges = db.GetCollection(Collections.Merges);
        foreach (var m in c.DeletedMerges) merges.Delete(m);
        foreach (var m in c.Merges) merges.Upsert(m.ToBson());
        var quarantine = db.GetCollection(Collections.Quarantine);
        foreach (var q in c.DeletedQuarantine) quarantine.Delete(q);
        foreach (var q in c.Quarantine) quarantine.Upsert(q.ToBson());
        if (c.Unmerge is not null) db.GetCollection(Collections.Unmerges).Upsert(c.Unmerge.ToBson());
        if (c.Carriers.Count > 0)
        {
            var carriers = db.GetCollection(Collections.Carriers);
            foreach (var (h, list) in c.Carriers)
            {
                if (list.Count == 0) carriers.Delete(HashId(h));
                else carriers.Upsert(new BsonDocument { ["_id"] = HashId(h), ["s"] = Varint.Encode(list) });
            }
        }
        var links = db.GetCollection(Collections.Links);
        foreach (var l in c.Links) links.Upsert(l.ToBson());
        if (c.UndoneLink is not null && links.FindById(c.UndoneLink) is { } undone)
            links.Update((IdentityBson.Link(undone) with { Status = LinkStatus.Undone, Note = c.UndoneNote }).ToBson());
    }

    public void Reset(IUnitOfWork tx)
    {
        var db = tx.Lite();
        foreach (var c in new[] { Collections.Nodes, Collections.Keys, Collections.Merges, Collections.Quarantine, Collections.Carriers })
            db.GetCollection(c).DeleteAll();
        var links = db.GetCollection(Collections.Links);
        var reopened = links.Find(Filter.NotEQ("st", LinkStatus.Undone)).Select(IdentityBson.Link)
            .Select(l => (l with { Status = LinkStatus.Pending, Note = null }).ToBson()).ToList();
        if (reopened.Count > 0) links.Update(reopened);
    }

    public IdentityErasure Erase(IUnitOfWork tx, IReadOnlyCollection<long> profiles, IReadOnlyCollection<string> keys)
    {
        var db = tx.Lite();
        var nodes = db.GetCollection(Collections.Nodes);
        var keyRecords = db.GetCollection(Collections.Keys);
        var merges = db.GetCollection(Collections.Merges);
        var quarantine = db.GetCollection(Collections.Quarantine);
        var carriers = db.GetCollection(Collections.Carriers);
        long identifiers = 0, mergeRecords = 0, quarantined = 0;
        var mergeIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var profile in profiles)
        {
            if (nodes.FindById(profile) is { } d && !d.ContainsKey("into"))
                foreach (var m in IdentityBson.Node(d).MergeIds) mergeIds.Add(m);
            nodes.Delete(profile);
            if (quarantine.Delete("profile:" + profile)) quarantined++;
        }
        foreach (var key in keys)
        {
            if (keyRecords.Delete(key)) identifiers++;
            carriers.Delete(HashId(IdentitySchema.Hash(key)));
            if (quarantine.Delete("key:" + key)) quarantined++;
        }
        foreach (var m in mergeIds) if (merges.Delete(m)) mergeRecords++;
        return new IdentityErasure(identifiers, mergeRecords, quarantined);
    }

    public long EraseLinksInvolving(IUnitOfWork tx, IReadOnlySet<long> profiles)
    {
        var links = tx.Lite().GetCollection(Collections.Links);
        var ids = links.FindAll().Where(d => profiles.Contains(d["a"].AsInt64) || profiles.Contains(d["b"].AsInt64)).Select(d => d["_id"]).ToList();
        foreach (var id in ids) links.Delete(id);
        return ids.Count;
    }
}
