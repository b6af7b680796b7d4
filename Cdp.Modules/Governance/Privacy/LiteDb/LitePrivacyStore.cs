using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;

namespace Cdp.Modules.Governance.Privacy.LiteDb;

/// <summary>
/// Privacy in LiteDB: privacy_suppressions (_id = hash hex: type, at, receipt), privacy_state (_id "salt": v = the bytes)
/// and privacy_receipts (_id = receipt id). No index but _id: deletions are few, and the lists are rare admin reads.
/// </summary>
internal sealed class LitePrivacyStore(CdpDatabase db) : IPrivacyStore
{
    public const string Suppressions = "privacy_suppressions";
    public const string State = "privacy_state";
    public const string Receipts = "privacy_receipts";

    public byte[] Salt(Func<byte[]> create) => db.InTransaction(d =>
    {
        var state = d.GetCollection(State);
        if (state.FindById("salt") is { } s) return s["v"].AsBinary;
        var salt = create();
        state.Insert(new BsonDocument { ["_id"] = "salt", ["v"] = salt });
        return salt;
    });

    public IReadOnlyList<(string Hash, string Type)> SuppressionIndex() =>
        db.Collection(Suppressions).Query().Select((BsonExpression)"{_id, type}").ToList().Select(d => (d["_id"].AsString, d["type"].AsString)).ToList();

    public IReadOnlyList<Suppression> AddSuppressions(IUnitOfWork tx, IReadOnlyList<Suppression> suppressions)
    {
        var col = tx.Lite().GetCollection(Suppressions);
        var added = new List<Suppression>();
        foreach (var s in suppressions)
        {
            if (col.FindById(s.Hash) is not null) continue;
            col.Insert(new BsonDocument
            {
                ["_id"] = s.Hash, ["type"] = s.Type, ["at"] = s.CreatedAt, ["receipt"] = s.ReceiptId is null ? BsonValue.Null : new BsonValue(s.ReceiptId),
            });
            added.Add(s);
        }
        return added;
    }

    public string? RemoveSuppression(string hash) => db.InTransaction(d =>
    {
        var col = d.GetCollection(Suppressions);
        var doc = col.FindById(hash);
        if (doc is null) return null;
        col.Delete(hash);
        return doc["type"].AsString;
    });

    public Suppression? Suppression(string hash) => db.Collection(Suppressions).FindById(hash) is { } d ? ToSuppression(d) : null;

    IReadOnlyList<Suppression> IPrivacyStore.Suppressions(int skip, int take) =>
        db.Collection(Suppressions).Query().OrderBy("$.at").Skip(skip).Limit(take).ToList().Select(ToSuppression).ToList();

    private static Suppression ToSuppression(BsonDocument d) =>
        new(d["_id"].AsString, d["type"].AsString, d["at"].AsDateTime.ToUniversalTime(), d["receipt"].IsNull ? null : d["receipt"].AsString);

    public void WriteReceipt(IUnitOfWork tx, DeletionReceipt r) => tx.Lite().GetCollection(Receipts).Insert(new BsonDocument
    {
        ["_id"] = r.ReceiptId, ["profile"] = r.ProfileId, ["by"] = r.RequestedBy, ["requested"] = r.RequestedAt, ["completed"] = r.CompletedAt,
        ["erased"] = new BsonDocument(r.Erased.ToDictionary(e => e.Key, e => new BsonValue(e.Value))), ["suppressed"] = r.SuppressedIdentifiers,
    });

    public DeletionReceipt? Receipt(string receiptId) => db.Collection(Receipts).FindById(receiptId) is { } d ? ToReceipt(d) : null;

    public long ReceiptCount() => db.Collection(Receipts).LongCount();

    IReadOnlyList<DeletionReceipt> IPrivacyStore.Receipts(int skip, int take) =>
        db.Collection(Receipts).Query().OrderByDescending("$.completed").Offset(skip).Limit(take).ToList().Select(ToReceipt).ToList();

    private static DeletionReceipt ToReceipt(BsonDocument d) =>
        new(d["_id"].AsString, d["profile"].AsString, d["by"].AsString, d["requested"].AsDateTime.ToUniversalTime(),
            d["completed"].AsDateTime.ToUniversalTime(), d["erased"].AsDocument.ToDictionary(e => e.Key, e => e.Value.AsInt64), d["suppressed"].AsInt32);
}
