using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;

namespace Cdp.Modules.Matching.ProfileMatching.LiteDb;

/// <summary>
/// Matching in LiteDB: identity_matching (the model and the journal checkpoint), identity_match_runs (reports),
/// identity_match_journal and identity_review (indexed by status).
/// </summary>
internal sealed class LiteMatchingStore(CdpDatabase db) : IMatchingStore
{
    public const string State = "identity_matching";
    public const string Runs = "identity_match_runs";
    public const string JournalCollection = "identity_match_journal";
    public const string ReviewCollection = "identity_review";
    private const string ModelId = "model";
    private const string StateId = "state";

    /// <summary>
    /// Profile numbers per journal document (~3 bytes each): bounds the decode-merge-encode a batch pays (about a
    /// millisecond). Numbers are added to the newest document until it is full, so the journal grows with the profiles
    /// changed, not with the batches (a quiet site makes a batch per event).
    /// </summary>
    public const int MaxPerDocument = 10_000;

    private int _indexed;

    public StoredModel? Model()
    {
        var d = db.Collection(State).FindById(ModelId);
        if (d is null) return null;
        return new StoredModel(d["fp"].AsString, d["lambda"].AsDouble, Matrix(d["m"]), Matrix(d["u"]),
            d["at"].IsDateTime ? d["at"].AsDateTime.ToUniversalTime() : default, d["profiles"].IsNumber ? d["profiles"].AsInt32 : 0,
            d["pairs"].IsNumber ? d["pairs"].AsInt64 : 0);
    }

    private static double[][] Matrix(BsonValue v) => v.AsArray.Select(a => a.AsArray.Select(x => x.AsDouble).ToArray()).ToArray();

    public void SaveModel(StoredModel model) => db.InTransaction(d => d.GetCollection(State, BsonAutoId.Int64).Upsert(new BsonDocument
    {
        ["_id"] = ModelId,
        ["fp"] = model.Fingerprint,
        ["lambda"] = model.Lambda,
        ["m"] = new BsonArray(model.M.Select(c => (BsonValue)new BsonArray(c.Select(x => new BsonValue(x))))),
        ["u"] = new BsonArray(model.U.Select(c => (BsonValue)new BsonArray(c.Select(x => new BsonValue(x))))),
        ["at"] = model.At,
        ["profiles"] = model.Profiles,
        ["pairs"] = model.Pairs,
    }));

    public void SaveRun(string id, DateTime startedAt, string json, int keep) => db.InTransaction(d =>
    {
        var runs = d.GetCollection(Runs, BsonAutoId.Int64);
        runs.Upsert(new BsonDocument { ["_id"] = id, ["at"] = startedAt, ["json"] = json });
        var old = runs.Query().OrderByDescending("$.at").Offset(keep).ToList().Select(r => r["_id"]).ToList();
        foreach (var o in old) runs.Delete(o);
    });

    public IReadOnlyList<string> RecentRuns(int take) =>
        db.Collection(Runs).Query().OrderByDescending("$.at").Limit(take).ToList().Select(d => d["json"].AsString).ToList();

    public void Journal(IUnitOfWork tx, IReadOnlyList<long> changed)
    {
        var journal = tx.Lite().GetCollection(JournalCollection, BsonAutoId.Int64);
        var newest = journal.Find(LiteDB.Query.All("_id", LiteDB.Query.Descending), limit: 1).FirstOrDefault();
        if (newest is not null && newest["n"].AsInt32 + changed.Count <= MaxPerDocument)
        {
            var merged = Varint.Decode(newest["p"].AsBinary).Concat(changed).Distinct().Order().ToList();
            newest["p"] = Varint.Encode(merged);
            newest["n"] = merged.Count;
            journal.Update(newest);
            return;
        }
        journal.Insert(new BsonDocument { ["p"] = Varint.Encode(changed.ToList()), ["n"] = changed.Count });
    }

    /// <summary>The run checkpoint goes back to 0 with the journal: an emptied collection may number its documents from 1 again after a restart.</summary>
    public void ResetJournal(IUnitOfWork tx)
    {
        var d = tx.Lite();
        d.GetCollection(JournalCollection, BsonAutoId.Int64).DeleteAll();
        d.GetCollection(State, BsonAutoId.Int64).Delete(StateId);
    }

    /// <summary>
    /// Seals the journal with a new empty document (batches committed after that write into it, LiteDB having one writer)
    /// and reads the documents after the last run's checkpoint and before the seal.
    /// </summary>
    public JournalRead ReadJournal()
    {
        var after = db.Collection(State).FindById(StateId)?["journal"].AsInt64 ?? 0;
        var seal = db.InTransaction(d => d.GetCollection(JournalCollection, BsonAutoId.Int64).Insert(new BsonDocument { ["p"] = Varint.Encode([]), ["n"] = 0 }).AsInt64);
        var profiles = new HashSet<long>();
        foreach (var d in db.Collection(JournalCollection).Find(Filter.Inside("_id", after, seal)).ToList())
            profiles.UnionWith(Varint.Decode(d["p"].AsBinary));
        return new JournalRead(profiles, seal - 1);
    }

    public void ConsumeJournal(JournalRead read)
    {
        var last = (long)read.Position;
        db.InTransaction(d => d.GetCollection(State, BsonAutoId.Int64).Upsert(new BsonDocument { ["_id"] = StateId, ["journal"] = last, ["at"] = DateTime.UtcNow }));
        db.InTransaction(d => d.GetCollection(JournalCollection, BsonAutoId.Int64).DeleteMany(Filter.LTE("_id", last)));
    }

    private ILiteCollection<BsonDocument> Items
    {
        get
        {
            EnsureIndexed();
            return db.Collection(ReviewCollection);
        }
    }

    /// <summary>Once per process: EnsureIndex is a write (under the write gate), even when the index exists.</summary>
    private void EnsureIndexed()
    {
        if (Volatile.Read(ref _indexed) != 0) return;
        db.InTransaction(d => d.GetCollection(ReviewCollection, BsonAutoId.Int64).EnsureIndex("st"));
        Volatile.Write(ref _indexed, 1);
    }

    private void WriteReviews(Action<ILiteCollection<BsonDocument>> write)
    {
        EnsureIndexed();
        db.InTransaction(d => write(d.GetCollection(ReviewCollection, BsonAutoId.Int64)));
    }

    public ReviewItem? Review(string id) => Items.FindById(id) is { } d ? ReviewBson.Item(d) : null;

    public (int Total, IReadOnlyList<ReviewItem> Items) ReviewPage(string status, int skip, int take)
    {
        var items = Items;
        var total = items.Count(Filter.EQ("st", status));
        var query = items.Query().Where(Filter.EQ("st", status));
        var ordered = status == ReviewStatus.Pending ? query.OrderByDescending("$.rk") : query.OrderByDescending("$.dat");
        return (total, ordered.Offset(skip).Limit(take).ToList().Select(ReviewBson.Item).ToList());
    }

    public IEnumerable<(string Id, DateTime At, string Json)> AllRuns() =>
        db.Collection(Runs).FindAll().Select(d => (d["_id"].AsString, d["at"].AsDateTime.ToUniversalTime(), d["json"].AsString));

    public IReadOnlyCollection<long> JournalProfiles()
    {
        var after = db.Collection(State).FindById(StateId)?["journal"].AsInt64 ?? 0;
        var profiles = new HashSet<long>();
        foreach (var d in db.Collection(JournalCollection).Find(Filter.GT("_id", after))) profiles.UnionWith(Varint.Decode(d["p"].AsBinary));
        return profiles;
    }

    public IEnumerable<ReviewItem> AllReviews() => db.Collection(ReviewCollection).FindAll().Select(ReviewBson.Item);

    public IReadOnlyList<ReviewItem> ReviewsWithStatus(string status) => Items.Find(Filter.EQ("st", status)).ToList().Select(ReviewBson.Item).ToList();

    /// <summary>One pass over the collection (neither side is indexed), not one query per profile number.</summary>
    public IReadOnlyList<ReviewItem> ReviewsInvolving(IReadOnlySet<long> profiles) =>
        Items.FindAll().Where(d => Involves(d, profiles)).Select(ReviewBson.Item).ToList();

    public void AddReview(ReviewItem item) => WriteReviews(c => c.Insert(item.ToBson()));

    public void UpdateReviews(IReadOnlyList<ReviewItem> items) => WriteReviews(c => { foreach (var i in items) c.Update(i.ToBson()); });

    public long DeleteReviewsInvolving(IUnitOfWork tx, IReadOnlySet<long> profiles)
    {
        var collection = tx.Lite().GetCollection(ReviewCollection);
        var ids = collection.FindAll().Where(d => Involves(d, profiles)).Select(d => d["_id"]).ToList();
        foreach (var id in ids) collection.Delete(id);
        return ids.Count;
    }

    private static bool Involves(BsonDocument d, IReadOnlySet<long> profiles) => profiles.Contains(d["a"].AsInt64) || profiles.Contains(d["b"].AsInt64);
}

/// <summary>A review item's LiteDB document.</summary>
internal static class ReviewBson
{
    public static BsonDocument ToBson(this ReviewItem i) => new()
    {
        ["_id"] = i.Id, ["st"] = i.Status, ["a"] = i.Left, ["b"] = i.Right, ["p"] = i.Probability, ["w"] = i.MatchWeight, ["at"] = i.CreatedAt,
        ["reason"] = i.Reason is null ? BsonValue.Null : i.Reason,
        ["ev"] = ReviewEvidenceBson.ToBson(i.Probability, i.MatchWeight, i.Comparisons),
        ["dat"] = i.DecidedAt is { } d ? d : BsonValue.Null, ["mid"] = i.MergeId is null ? BsonValue.Null : i.MergeId,
        ["win"] = i.Winner is { } w ? w : BsonValue.Null,
        ["imp"] = i.Impact, ["rk"] = i.Rank, ["why"] = i.Closed is null ? BsonValue.Null : i.Closed,
    };

    public static ReviewItem Item(BsonDocument d) => new(d["_id"].AsString, d["st"].AsString, d["a"].AsInt64, d["b"].AsInt64,
        d["p"].AsDouble, d["w"].AsDouble, d["at"].AsDateTime.ToUniversalTime(), d["reason"].IsNull ? null : d["reason"].AsString,
        ReviewEvidenceBson.Comparisons(d["ev"].AsDocument),
        d["dat"].IsNull ? null : d["dat"].AsDateTime.ToUniversalTime(), d["mid"].IsNull ? null : d["mid"].AsString, d["win"].IsNull ? null : d["win"].AsInt64,
        d["imp"].IsNumber ? d["imp"].AsInt32 : 2, d["why"].IsString ? d["why"].AsString : null);
}
