using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Identity.Graph;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Identity.ProfileMatching;

internal static class ReviewStatus
{
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";

    public static bool IsKnown(string? s) => s is Pending or Accepted or Rejected;
}

/// <summary>
/// A pair put in front of a person: profiles <see cref="Left"/> and <see cref="Right"/> (live when queued), the score,
/// why it was not merged automatically (<see cref="Reason"/>, null when it simply scored below AutoMerge), the breakdown.
/// </summary>
internal sealed record ReviewItem(string Id, string Status, long Left, long Right, double Probability, double MatchWeight, DateTime CreatedAt,
    string? Reason, IReadOnlyList<MatchComparison> Comparisons, DateTime? DecidedAt = null, string? MergeId = null, long? Winner = null)
{
    public BsonDocument ToBson() => new()
    {
        ["_id"] = Id, ["st"] = Status, ["a"] = Left, ["b"] = Right, ["p"] = Probability, ["w"] = MatchWeight, ["at"] = CreatedAt,
        ["reason"] = Reason is null ? BsonValue.Null : Reason,
        ["ev"] = EvidenceBson.ToBson(new MatchEvidence(Probability, MatchWeight, "review", Comparisons)),
        ["dat"] = DecidedAt is { } d ? d : BsonValue.Null, ["mid"] = MergeId is null ? BsonValue.Null : MergeId,
        ["win"] = Winner is { } w ? w : BsonValue.Null,
    };

    public static ReviewItem FromBson(BsonDocument d) => new(d["_id"].AsString, d["st"].AsString, d["a"].AsInt64, d["b"].AsInt64,
        d["p"].AsDouble, d["w"].AsDouble, d["at"].AsDateTime.ToUniversalTime(), d["reason"].IsNull ? null : d["reason"].AsString,
        EvidenceBson.FromBson(d["ev"].AsDocument).Comparisons,
        d["dat"].IsNull ? null : d["dat"].AsDateTime.ToUniversalTime(), d["mid"].IsNull ? null : d["mid"].AsString, d["win"].IsNull ? null : d["win"].AsInt64);
}

/// <summary>
/// The review queue (collection identity_review, indexed by status). Pairs are keyed by both profile numbers, order
/// independent; a decision about (x, y) covers any later pair of the live profiles that hold x and y.
/// </summary>
[Service]
internal sealed class ReviewQueue(CdpDatabase db)
{
    public const string Collection = "identity_review";

    private int _indexed;

    private ILiteCollection<BsonDocument> Items
    {
        get
        {
            EnsureIndexed();
            return db.Collection(Collection);
        }
    }

    /// <summary>Once per process: EnsureIndex is a write (under the write gate), even when the index exists.</summary>
    private void EnsureIndexed()
    {
        if (Volatile.Read(ref _indexed) != 0) return;
        db.InTransaction(d => d.GetCollection(Collection, BsonAutoId.Int64).EnsureIndex("st"));
        Volatile.Write(ref _indexed, 1);
    }

    private void Write(Action<ILiteCollection<BsonDocument>> write)
    {
        EnsureIndexed();
        db.InTransaction(d => write(d.GetCollection(Collection, BsonAutoId.Int64)));
    }

    public ReviewItem? Get(string id) => Items.FindById(id) is { } d ? ReviewItem.FromBson(d) : null;

    /// <summary>Pending: highest score first; decided: latest decision first.</summary>
    public (int Total, IReadOnlyList<ReviewItem> Items) List(string status, int skip, int take)
    {
        var items = Items;
        var total = items.Count(Filter.EQ("st", status));
        var query = items.Query().Where(Filter.EQ("st", status));
        var ordered = status == ReviewStatus.Pending ? query.OrderByDescending("$.p") : query.OrderByDescending("$.dat");
        return (total, ordered.Offset(skip).Limit(take).ToList().Select(ReviewItem.FromBson).ToList());
    }

    public IReadOnlyList<ReviewItem> WithStatus(string status) => Items.Find(Filter.EQ("st", status)).ToList().Select(ReviewItem.FromBson).ToList();

    public void Add(ReviewItem item) => Write(c => c.Insert(item.ToBson()));

    public void Update(ReviewItem item) => Write(c => c.Update(item.ToBson()));

    public static string NewId() => "rv-" + Guid.NewGuid().ToString("N")[..16];
}
