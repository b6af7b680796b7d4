using LiteDB;
using LiteDB.Engine;

namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// The LiteDB engine of cdp.db, refusing every write made by a thread that does not hold the write gate of
/// <see cref="CdpDatabase"/> (LiteDB issue #2825: two write transactions at once corrupt the free-page list).
/// It sits under the LiteDatabase, so it sees every way of writing: collections (typed or not, however obtained),
/// SQL (Execute, SELECT INTO), file storage, indexes, pragmas, checkpoints and rebuilds. Reads pass untouched.
/// </summary>
internal sealed class GatedEngine(ILiteEngine inner, Lock gate) : ILiteEngine
{
    public const string Refusal = "writes must run inside CdpDatabase.InTransaction, see LiteDB #2825";

    private void Guard(string operation, string? collection = null)
    {
        if (gate.IsHeldByCurrentThread) return;
        throw new InvalidOperationException(collection is null
            ? $"LiteDB {operation} refused: {Refusal}."
            : $"LiteDB {operation} on '{collection}' refused: {Refusal}.");
    }

    public int Checkpoint()
    {
        Guard(nameof(Checkpoint));
        return inner.Checkpoint();
    }

    public long Rebuild(RebuildOptions options)
    {
        Guard(nameof(Rebuild));
        return inner.Rebuild(options);
    }

    // A transaction only writes through the members below, which check the gate: a read-only transaction needs none
    // (LiteDbFiles.CopyConsistent holds one to keep checkpoints out while it copies the data file).
    public bool BeginTrans() => inner.BeginTrans();

    public bool Commit() => inner.Commit();

    public bool Rollback() => inner.Rollback();

    public IBsonDataReader Query(string collection, Query query)
    {
        if (query.Into is not null) Guard("SELECT INTO", query.Into);
        return inner.Query(collection, query);
    }

    public int Insert(string collection, IEnumerable<BsonDocument> docs, BsonAutoId autoId)
    {
        Guard(nameof(Insert), collection);
        return inner.Insert(collection, docs, autoId);
    }

    public int Update(string collection, IEnumerable<BsonDocument> docs)
    {
        Guard(nameof(Update), collection);
        return inner.Update(collection, docs);
    }

    public int UpdateMany(string collection, BsonExpression transform, BsonExpression predicate)
    {
        Guard(nameof(UpdateMany), collection);
        return inner.UpdateMany(collection, transform, predicate);
    }

    public int Upsert(string collection, IEnumerable<BsonDocument> docs, BsonAutoId autoId)
    {
        Guard(nameof(Upsert), collection);
        return inner.Upsert(collection, docs, autoId);
    }

    public int Delete(string collection, IEnumerable<BsonValue> ids)
    {
        Guard(nameof(Delete), collection);
        return inner.Delete(collection, ids);
    }

    public int DeleteMany(string collection, BsonExpression predicate)
    {
        Guard(nameof(DeleteMany), collection);
        return inner.DeleteMany(collection, predicate);
    }

    public bool DropCollection(string name)
    {
        Guard(nameof(DropCollection), name);
        return inner.DropCollection(name);
    }

    public bool RenameCollection(string name, string newName)
    {
        Guard(nameof(RenameCollection), name);
        return inner.RenameCollection(name, newName);
    }

    public bool EnsureIndex(string collection, string name, BsonExpression expression, bool unique)
    {
        Guard(nameof(EnsureIndex), collection);
        return inner.EnsureIndex(collection, name, expression, unique);
    }

    public bool DropIndex(string collection, string name)
    {
        Guard(nameof(DropIndex), collection);
        return inner.DropIndex(collection, name);
    }

    public BsonValue Pragma(string name) => inner.Pragma(name);

    public bool Pragma(string name, BsonValue value)
    {
        Guard("Pragma " + name);
        return inner.Pragma(name, value);
    }

    public void Dispose() => inner.Dispose();
}
