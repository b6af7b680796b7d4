using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Collection.EventLog.LiteDb;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;

namespace Cdp.Modules.Collection.DeadLetters.LiteDb;

/// <summary>Dead letters in cdp.db's dead_letters collection ({_id, src, at, index, errors: [{field, message}], raw}).</summary>
internal sealed class LiteDeadLetterStore(CdpDatabase db) : IDeadLetterStore
{
    public IReadOnlyList<DeadLetter> Newest(long? before, int take)
    {
        var query = db.Collection(EventLogSchema.DeadLetters).Query();
        if (before is { } b) query = query.Where(Filter.LT("_id", b));
        return query.OrderByDescending("_id").Limit(take).ToList().Select(FromBson).ToList();
    }

    public IEnumerable<DeadLetter> All() => db.Collection(EventLogSchema.DeadLetters).FindAll().Select(FromBson);

    public long Delete(IUnitOfWork tx, IReadOnlyCollection<long> ids)
    {
        var col = tx.Lite().GetCollection(EventLogSchema.DeadLetters, BsonAutoId.Int64);
        long deleted = 0;
        foreach (var id in ids) if (col.Delete(id)) deleted++;
        return deleted;
    }

    public void Import(IReadOnlyList<DeadLetter> letters) => db.InTransaction(d => d.GetCollection(EventLogSchema.DeadLetters, BsonAutoId.Int64)
        .Insert(letters.Select(l =>
        {
            var doc = EventLogSchema.DeadLetterDocument(l.Source, l.ReceivedAt, l.Index, l.Errors.Select(e => (e.Field, e.Message)), l.Raw);
            doc["_id"] = l.Id;
            return doc;
        })));

    private static DeadLetter FromBson(BsonDocument d) => new(
        d["_id"].AsInt64,
        d["src"].AsString,
        d["at"].AsDateTime.ToUniversalTime(),
        d["index"].AsInt32,
        d["errors"].AsArray.Select(e => new DeadLetterError(e["field"].AsString, e["message"].AsString)).ToList(),
        d["raw"].AsString);
}
