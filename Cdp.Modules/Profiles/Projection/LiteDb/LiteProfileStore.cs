using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;

namespace Cdp.Modules.Profiles.Projection.LiteDb;

/// <summary>
/// Profiles in LiteDB: "profiles" (_id = profile number; merged-away profiles keep only "into"), "profile_timeline"
/// (sealed chunks, _id = profile number &lt;&lt; 16 | chunk: { s: sequences, t: event times }) and "profile_accounts"
/// (_id = groupId).
/// </summary>
internal sealed class LiteProfileStore(CdpDatabase db) : IProfileStore
{
    public const string Profiles = "profiles";
    public const string Timeline = "profile_timeline";
    public const string Accounts = "profile_accounts";

    private ILiteCollection<BsonDocument> Collection(string name, IUnitOfWork? tx) => tx is null ? db.Collection(name) : tx.Lite().GetCollection(name);

    public ProfileState? Profile(long profile, IUnitOfWork? tx = null) =>
        Collection(Profiles, tx).ById(profile) is { } d ? Read(d) : null;

    public IReadOnlyList<ProfileState> Many(IReadOnlyCollection<long> profiles)
    {
        var collection = db.Collection(Profiles);
        var result = new List<ProfileState>(profiles.Count);
        foreach (var no in profiles) if (collection.ById(no) is { } d) result.Add(Read(d));
        return result;
    }

    public IReadOnlyList<ProfileState> LiveAfter(long after, int take) =>
        db.Collection(Profiles).Find(Filter.GT("_id", after), limit: int.MaxValue).Where(d => !d.ContainsKey("into")).Take(take)
            .Select(Read).ToList();

    /// <summary>DocumentScan reads a document per engine call, so ingest and the processor go on during it.</summary>
    /// <remarks>
    /// <see cref="TraitSearch"/>'s rule as a query: text compares under the database's collation (ignoring case), and a
    /// number or boolean is compared as one (<c>STRING()</c> would read an Int64 as <c>{"$numberLong":...}</c>).
    /// </remarks>
    public IEnumerable<ProfileState> LiveWithTrait(string path, string value) =>
        db.Scan(Profiles, BsonExpression.Create($"$.tr.{path} = @0 OR $.tr.{path} = @1", new BsonValue(value),
            TraitSearch.Typed(value) is { } typed ? TreeBsonDocuments.ToBson(typed) : new BsonValue(value))).Select(Read);

    public IEnumerable<long> AccountMembers(string groupId) =>
        db.Scan(Profiles, BsonExpression.Create("$.g[*] ANY = @0", new BsonValue(groupId))).Select(m => m["_id"].AsInt64);

    public TimelinePart? Chunk(long profile, int chunk, IUnitOfWork? tx = null) =>
        Collection(Timeline, tx).ById(ProfileSchema.ChunkId(profile, chunk)) is { } d
            ? new TimelinePart(d["s"].AsBinary, d.TryGetValue("t", out var t) && t.IsBinary ? t.AsBinary : null)
            : null;

    public AccountState? Account(string groupId, ProfileLimits limits) =>
        db.Collection(Accounts).FindById(groupId) is { } d ? AccountState.From(TreeBsonDocuments.ToTree(d), limits) : null;

    public IEnumerable<ProfileState> All() => db.Collection(Profiles).FindAll().Select(Read);

    public IEnumerable<(long Id, TimelinePart Part)> AllChunks() =>
        db.Collection(Timeline).FindAll().Select(d => (d["_id"].AsInt64, new TimelinePart(d["s"].AsBinary, d.TryGetValue("t", out var t) && t.IsBinary ? t.AsBinary : null)));

    public IEnumerable<(string GroupId, AccountState Account)> AllAccounts(ProfileLimits limits) =>
        db.Collection(Accounts).FindAll().Select(d => (d["_id"].AsString, AccountState.From(TreeBsonDocuments.ToTree(d), limits)));

    /// <summary>A stored profile document as the projection's state (its value tree converted kind for kind).</summary>
    private static ProfileState Read(BsonDocument d) => ProfileState.FromTree(TreeBsonDocuments.ToTree(d));

    private static BsonDocument Document(ProfileState p) => TreeBsonDocuments.ToBson(p.ToTree());

    public void Write(IUnitOfWork tx, ProfileChanges c)
    {
        var d = tx.Lite();
        var profiles = d.GetCollection(Profiles);
        var timeline = d.GetCollection(Timeline);
        foreach (var p in c.DeletedProfiles) profiles.Delete(p);
        foreach (var p in c.ClearedTimelines)
            timeline.DeleteMany(Filter.Between("_id", ProfileSchema.ChunkId(p, 0), ProfileSchema.ChunkId(p, ProfileSchema.MaxChunks)));
        foreach (var (id, part) in c.Chunks)
        {
            if (part is null) timeline.Delete(id);
            else timeline.Upsert(new BsonDocument { ["_id"] = id, ["s"] = part.Sequences, ["t"] = part.Times is null ? BsonValue.Null : part.Times });
        }
        // one call per kind of write: LiteDB's per-call overhead is paid once per batch, not once per profile
        if (c.NewProfiles.Count > 0) profiles.Insert(c.NewProfiles.Select(Document));
        if (c.Rebuild) profiles.Upsert(c.ChangedProfiles.Select(Document));
        else if (c.ChangedProfiles.Count > 0) profiles.Update(c.ChangedProfiles.Select(Document));
        if (c.Accounts.Count > 0)
        {
            var accounts = d.GetCollection(Accounts);
            foreach (var (id, a) in c.Accounts) accounts.Upsert(TreeBsonDocuments.ToBson(a.ToTree(id)));
        }
    }

    public void Reset(IUnitOfWork tx)
    {
        var d = tx.Lite();
        foreach (var c in new[] { Profiles, Timeline, Accounts }) d.GetCollection(c).DeleteAll();
    }

    public (long Live, long MergedAway) Erase(IUnitOfWork tx, IReadOnlyCollection<long> profiles)
    {
        var d = tx.Lite();
        var records = d.GetCollection(Profiles);
        var timeline = d.GetCollection(Timeline);
        long live = 0, mergedAway = 0;
        foreach (var no in profiles)
        {
            var doc = records.FindById(no);
            if (doc is null) continue;
            if (doc.ContainsKey("into")) mergedAway++;
            else live++;
            records.Delete(no);
            timeline.DeleteMany(Filter.Between("_id", ProfileSchema.ChunkId(no, 0), ProfileSchema.ChunkId(no, ProfileSchema.MaxChunks)));
        }
        return (live, mergedAway);
    }
}
