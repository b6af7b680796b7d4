using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Governance.Privacy;

/// <summary>
/// What a deletion erased, kept as proof. Holds no personal data: the (pseudonymous) profile id, times, who asked (the API
/// key's name) and counts by kind.
/// </summary>
internal sealed record DeletionReceipt(
    string ReceiptId, string ProfileId, string RequestedBy, DateTime RequestedAt, DateTime CompletedAt,
    IReadOnlyDictionary<string, long> Erased, int SuppressedIdentifiers);

[Service]
internal sealed class DeletionReceipts(CdpDatabase db)
{
    public const string Collection = "privacy_receipts";

    public static string NewId() => "del_" + Guid.NewGuid().ToString("N");

    public void Write(LiteDatabase d, DeletionReceipt r) => d.GetCollection(Collection).Insert(new BsonDocument
    {
        ["_id"] = r.ReceiptId, ["profile"] = r.ProfileId, ["by"] = r.RequestedBy, ["requested"] = r.RequestedAt, ["completed"] = r.CompletedAt,
        ["erased"] = new BsonDocument(r.Erased.ToDictionary(e => e.Key, e => new BsonValue(e.Value))), ["suppressed"] = r.SuppressedIdentifiers,
    });

    public DeletionReceipt? Get(string receiptId) => db.Collection(Collection).FindById(receiptId) is { } d ? FromBson(d) : null;

    public long Count => db.Collection(Collection).LongCount();

    /// <summary>Newest first (by completion; ties by receipt id). No index: deletions are few and this is a rare admin read.</summary>
    public IReadOnlyList<DeletionReceipt> List(int skip, int take) =>
        db.Collection(Collection).Query().OrderByDescending("$.completed").Offset(skip).Limit(take).ToList().Select(FromBson).ToList();

    private static DeletionReceipt FromBson(BsonDocument d) =>
        new(d["_id"].AsString, d["profile"].AsString, d["by"].AsString, d["requested"].AsDateTime.ToUniversalTime(),
            d["completed"].AsDateTime.ToUniversalTime(), d["erased"].AsDocument.ToDictionary(e => e.Key, e => e.Value.AsInt64), d["suppressed"].AsInt32);
}
