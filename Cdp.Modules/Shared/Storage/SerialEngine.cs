using System.Diagnostics;
using LiteDB;
using LiteDB.Engine;

namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// A LiteDB engine that lets one thread at a time inside. LiteDB 5.0.21's page cache is not safe for concurrent callers:
/// a reader can be handed a page buffer that another thread's cache extension is recycling at that moment (upstream
/// issue 2817, fixed only in the 6.0 line). The reader then reads another page's bytes, or LiteDB fails a check
/// ("ENSURE: share counter must be > 0 in Release()") and closes the engine for good. Here every engine call, and every
/// Read and Dispose of a query's reader, holds one lock, so no two threads are ever in the cache together. Large writes
/// inside a transaction take turns of <see cref="DocumentsPerTurn"/> documents, so readers never wait for a whole batch.
/// <para>
/// No thread waits inside the engine while it holds that lock, so the lock cannot deadlock with LiteDB's own locks:
/// writes are one transaction at a time already (<see cref="GatedEngine"/>, the jobs file's write gate), so the
/// collection locks they take are never contended; readers take none; the checkpoint a commit may run only tries
/// (it skips when a transaction is open). The explicit <see cref="Checkpoint"/> and <see cref="Rebuild"/> wait for every
/// open transaction, and those transactions' threads need this lock to finish: so they enter only at a moment when no
/// reader and no explicit transaction of another thread is open, and LiteDB has nothing to wait for.
/// </para>
/// </summary>
internal sealed class SerialEngine : ILiteEngine
{
    private readonly ILiteEngine _inner;
    private readonly Lock _calls = new();
    private readonly TimeSpan _exclusiveTimeout;

    /// <summary>Readers handed out and not yet disposed (a query's read transaction lives as long as its reader).</summary>
    private int _openReaders;

    /// <summary>Threads with an explicit transaction open (BeginTrans until Commit or Rollback).</summary>
    private int _openTransactions;

    private readonly ThreadLocal<bool> _inTransaction = new();

    /// <param name="inner">The engine.</param>
    /// <param name="exclusiveTimeout">How long a checkpoint or rebuild waits for open readers and transactions of other
    /// threads (LiteDB's own lock timeout by default).</param>
    public SerialEngine(ILiteEngine inner, TimeSpan? exclusiveTimeout = null)
    {
        _inner = inner;
        _exclusiveTimeout = exclusiveTimeout ?? TimeSpan.FromSeconds(inner.Pragma(Pragmas.TIMEOUT).AsInt32);
    }

    /// <summary>Readers of this engine not yet disposed (for tests and diagnostics).</summary>
    public int OpenReaders => Volatile.Read(ref _openReaders);

    public int Checkpoint() => Exclusive(nameof(Checkpoint), _inner.Checkpoint);

    public long Rebuild(RebuildOptions options) => Exclusive(nameof(Rebuild), () => _inner.Rebuild(options));

    /// <summary>
    /// Runs an operation that takes LiteDB's exclusive lock, at a moment when no other thread holds a reader or an
    /// explicit transaction. New readers are not held back meanwhile: the wait ends at the first gap between them.
    /// </summary>
    private T Exclusive<T>(string operation, Func<T> run)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            lock (_calls)
            {
                var othersInTransaction = Volatile.Read(ref _openTransactions) - (_inTransaction.Value ? 1 : 0);
                if (Volatile.Read(ref _openReaders) == 0 && othersInTransaction == 0) return run();
            }
            if (Stopwatch.GetElapsedTime(started) > _exclusiveTimeout)
                throw new TimeoutException($"LiteDB {operation} waited {_exclusiveTimeout.TotalSeconds:0} s for open readers " +
                    $"({OpenReaders}) and transactions ({Volatile.Read(ref _openTransactions)}) of other threads to end.");
            Thread.Sleep(1);
        }
    }

    public bool BeginTrans()
    {
        lock (_calls)
        {
            var begun = _inner.BeginTrans();
            if (begun && !_inTransaction.Value)
            {
                _inTransaction.Value = true;
                Interlocked.Increment(ref _openTransactions);
            }
            return begun;
        }
    }

    public bool Commit()
    {
        lock (_calls)
        {
            // a commit that throws leaves LiteDB's transaction open (the caller rolls it back): so does the count
            var committed = _inner.Commit();
            EndTransaction();
            return committed;
        }
    }

    public bool Rollback()
    {
        lock (_calls)
        {
            try
            {
                return _inner.Rollback();
            }
            finally
            {
                EndTransaction();
            }
        }
    }

    /// <summary>
    /// After a Commit that returned, or any Rollback, whatever they returned: LiteDB has already released a transaction
    /// that failed inside a write (Rollback then returns false), and the thread has no transaction either way.
    /// </summary>
    private void EndTransaction()
    {
        if (!_inTransaction.Value) return;
        _inTransaction.Value = false;
        Interlocked.Decrement(ref _openTransactions);
    }

    public IBsonDataReader Query(string collection, Query query)
    {
        lock (_calls)
        {
            var reader = _inner.Query(collection, query);
            Interlocked.Increment(ref _openReaders);
            return new SerialReader(this, reader);
        }
    }

    public int Insert(string collection, IEnumerable<BsonDocument> docs, BsonAutoId autoId) =>
        InTurns(docs, chunk => _inner.Insert(collection, chunk, autoId));

    public int Update(string collection, IEnumerable<BsonDocument> docs) => InTurns(docs, chunk => _inner.Update(collection, chunk));

    public int UpdateMany(string collection, BsonExpression transform, BsonExpression predicate)
    {
        lock (_calls) return _inner.UpdateMany(collection, transform, predicate);
    }

    public int Upsert(string collection, IEnumerable<BsonDocument> docs, BsonAutoId autoId) =>
        InTurns(docs, chunk => _inner.Upsert(collection, chunk, autoId));

    /// <summary>
    /// Documents written per engine call inside an explicit transaction: a batch of 20,000 profile updates is one call
    /// for the caller but ~80 turns here (a few milliseconds each), so a reader waits for one turn, not the whole write.
    /// </summary>
    public const int DocumentsPerTurn = 256;

    /// <summary>
    /// A write of many documents in turns of <see cref="DocumentsPerTurn"/>, when the thread's explicit transaction makes
    /// the turns one atomic write anyway. Without one, each call is LiteDB's own transaction, so it stays one call.
    /// </summary>
    private int InTurns(IEnumerable<BsonDocument> docs, Func<IEnumerable<BsonDocument>, int> write)
    {
        if (!_inTransaction.Value)
        {
            lock (_calls) return write(docs);
        }
        var written = 0;
        foreach (var chunk in docs.Chunk(DocumentsPerTurn))
        {
            lock (_calls) written += write(chunk);
        }
        return written;
    }

    public int Delete(string collection, IEnumerable<BsonValue> ids)
    {
        lock (_calls) return _inner.Delete(collection, ids);
    }

    public int DeleteMany(string collection, BsonExpression predicate)
    {
        lock (_calls) return _inner.DeleteMany(collection, predicate);
    }

    public bool DropCollection(string name)
    {
        lock (_calls) return _inner.DropCollection(name);
    }

    public bool RenameCollection(string name, string newName)
    {
        lock (_calls) return _inner.RenameCollection(name, newName);
    }

    public bool EnsureIndex(string collection, string name, BsonExpression expression, bool unique)
    {
        lock (_calls) return _inner.EnsureIndex(collection, name, expression, unique);
    }

    public bool DropIndex(string collection, string name)
    {
        lock (_calls) return _inner.DropIndex(collection, name);
    }

    public BsonValue Pragma(string name)
    {
        lock (_calls) return _inner.Pragma(name);
    }

    public bool Pragma(string name, BsonValue value)
    {
        lock (_calls) return _inner.Pragma(name, value);
    }

    // _inTransaction stays undisposed (its finalizer frees it): a thread calling after the close must get LiteDB's own
    // "engine disposed" error, which callers such as StorageWatchdog recognise, not an ObjectDisposedException from here
    public void Dispose()
    {
        lock (_calls) _inner.Dispose();
    }

    /// <summary>A query's reader whose steps (each may read pages) take the engine's lock; Current and fields are plain values.</summary>
    private sealed class SerialReader(SerialEngine engine, IBsonDataReader inner) : IBsonDataReader
    {
        private int _disposed;

        public BsonValue this[string field] => inner[field];

        public string Collection => inner.Collection;

        public BsonValue Current => inner.Current;

        public bool HasValues => inner.HasValues;

        public bool Read()
        {
            lock (engine._calls) return inner.Read();
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            try
            {
                lock (engine._calls) inner.Dispose();
            }
            finally
            {
                Interlocked.Decrement(ref engine._openReaders);
            }
        }
    }
}
