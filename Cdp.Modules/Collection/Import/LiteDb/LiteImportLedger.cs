using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Collection.Import.LiteDb;

/// <summary>The ledger in cdp.db's import_ledger collection: one document per messageId, its _id.</summary>
internal sealed class LiteImportLedger(CdpDatabase db) : IImportLedger
{
    public const string Collection = "import_ledger";

    public IReadOnlySet<string> Seen(IReadOnlyCollection<string> messageIds) => db.Collection(Collection).Query()
        .Where(Filter.In("_id", messageIds.Select(id => new BsonValue(id)).ToList())).Select((BsonExpression)"{_id}").ToList()
        .Select(d => d["_id"].AsString).ToHashSet(StringComparer.Ordinal);

    public IEnumerable<string> All() => db.Collection(Collection).FindAll().Select(d => d["_id"].AsString);

    public void Record(IReadOnlyCollection<string> messageIds) =>
        db.InTransaction(d => d.GetCollection(Collection).Upsert(messageIds.Select(id => new BsonDocument { ["_id"] = id })));
}
