using LiteDB;

namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// Finds the documents of a collection that match a predicate on an unindexed field by reading the collection in _id
/// order, a page at a time, and testing each document here. A LiteDB query with such a Where runs its scan inside the
/// reader step that looks for the next match: with a rare value that is one call over the whole collection, and
/// <see cref="SerialEngine"/> lets no other thread into the engine meanwhile (on a large profile collection ingest and the
/// processor would stand still for seconds). Here every engine call returns one document, and every page is a short read
/// transaction of its own, so checkpoints are not held off either. Same results as LiteDB's Where, in _id order.
/// </summary>
public static class DocumentScan
{
    public const int DefaultPageSize = 1_000;

    public static IEnumerable<BsonDocument> Scan(this LiteDatabase db, string collection, BsonExpression predicate, int pageSize = DefaultPageSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var documents = db.GetCollection(collection, BsonAutoId.Int64);
        var collation = db.Collation; // string comparisons as the database's own queries make them
        var after = BsonValue.MinValue;
        while (true)
        {
            var page = documents.Find(Filter.GT("_id", after), limit: pageSize).ToList();
            foreach (var d in page)
                if (predicate.ExecuteScalar(d, collation) is { IsBoolean: true, AsBoolean: true }) yield return d;
            if (page.Count < pageSize) yield break;
            after = page[^1]["_id"];
        }
    }
}
