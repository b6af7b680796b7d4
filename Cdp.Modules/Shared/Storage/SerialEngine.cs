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
/// reader and no explicit transaction of another thread is open, and LiteDB has nothing to wait for. New readers give way
/// to them briefly so that such a moment comes.
/// </para>
/// </summary>
internal sealed class SerialEngine : ILiteEngine
{
    private ILiteEngine _inner;
    private readonly Lock _calls = new();
    private readonly TimeSpan _exclusiveTimeout;

    /// <summary>Opens the engine again after a failed write (null: an engine handed in, which cannot be reopened).</summary>
    private readonly EngineSettings? _settings;

    private readonly StorageHealth? _health;

    /// <summary>The file reported to <see cref="StorageHealth"/> ("(stream)" for an engine on streams).</summary>
    private readonly string _name;

    /// <summary>
    /// Counts reopenings: readers and transactions begun under an older generation belong to an engine that is closed.
    /// </summary>
    private int _generation;

    /// <summary>
    /// Set when the engine's state can no longer be trusted: a write failed with an I/O error (LiteDB then closes the engine,
    /// or keeps the thread's transaction and a page its cache can never release, which fails every later checkpoint), or a
    /// reopening failed. The engine is reopened at the next chance (see <see cref="Reopen"/>).
    /// </summary>
    private volatile Exception? _broken;

    private long _lastReopenAttempt;

    /// <summary>How long a reopening waits for readers and read transactions of other threads before it closes them.</summary>
    private static readonly TimeSpan ReopenWait = TimeSpan.FromSeconds(5);

    /// <summary>A failed reopening is tried again at most this often.</summary>
    private static readonly TimeSpan ReopenRetry = TimeSpan.FromSeconds(1);

    /// <summary>Readers handed out and not yet disposed (a query's read transaction lives as long as its reader).</summary>
    private int _openReaders;

    /// <summary>Threads with an explicit transaction open (BeginTrans until Commit or Rollback).</summary>
    private int _openTransactions;

    /// <summary>The generation + 1 of the calling thread's open explicit transaction; 0 when it has none.</summary>
    private readonly ThreadLocal<int> _transactionOf = new();

    /// <param name="inner">The engine.</param>
    /// <param name="exclusiveTimeout">How long a checkpoint or rebuild waits for open readers and transactions of other
    /// threads (LiteDB's own lock timeout by default).</param>
    public SerialEngine(ILiteEngine inner, TimeSpan? exclusiveTimeout = null)
    {
        _inner = inner;
        _name = "(engine)";
        _exclusiveTimeout = exclusiveTimeout ?? TimeSpan.FromSeconds(inner.Pragma(Pragmas.TIMEOUT).AsInt32);
    }

    /// <summary>
    /// Opens a LiteDB engine on <paramref name="settings"/> that this class can close and open again after a failed write,
    /// so that no transaction, lock or cache page of the failed write outlives it (see <see cref="Reopen"/>).
    /// </summary>
    public SerialEngine(EngineSettings settings, StorageHealth? health = null, TimeSpan? exclusiveTimeout = null)
        : this(new LiteEngine(settings), exclusiveTimeout)
    {
        _settings = settings;
        _health = health;
        _name = settings.Filename ?? "(stream)";
    }

    /// <summary>Readers of this engine not yet disposed (for tests and diagnostics).</summary>
    public int OpenReaders => Volatile.Read(ref _openReaders);

    /// <summary>Times the engine was reopened after a failed write.</summary>
    public int Reopenings => Volatile.Read(ref _generation);

    private bool InTransaction => _transactionOf.Value == _generation + 1;

    /// <summary>The thread began a transaction that a reopening has closed since: its writes must not go on in auto-transactions.</summary>
    private bool TransactionClosedByReopen => _transactionOf.Value is var t && t != 0 && t != _generation + 1;

    public int Checkpoint() => Exclusive(nameof(Checkpoint), () => _inner.Checkpoint());

    public long Rebuild(RebuildOptions options) => Exclusive(nameof(Rebuild), () => _inner.Rebuild(options));

    /// <summary>
    /// How long, at most, new readers and transactions wait for a pending checkpoint or rebuild, once per
    /// <see cref="DrainPeriod"/> of its wait. Threads that read in overlapping turns (two request threads, the processor
    /// and a segment build) can keep the count of open readers above zero for minutes: a checkpoint that only looked for a
    /// gap between them was starved until its timeout (seen in CI). Holding new ones back briefly lets the open ones end.
    /// The wait is bounded, not a gate until the checkpoint is done: a thread that opens a second reader while its first is
    /// still open, or a long export that keeps one reader open, must only be slowed, never deadlocked.
    /// </summary>
    private static readonly TimeSpan DrainWindow = TimeSpan.FromMilliseconds(200);

    /// <summary>A pending checkpoint or rebuild opens a <see cref="DrainWindow"/> this often while it waits.</summary>
    private static readonly TimeSpan DrainPeriod = TimeSpan.FromSeconds(1);

    /// <summary>The Stopwatch timestamp until which new readers and transactions give way (0: none pending).</summary>
    private long _giveWayUntil;

    /// <summary>
    /// Runs an operation that takes LiteDB's exclusive lock, at a moment when no other thread holds a reader or an
    /// explicit transaction. While it waits for that moment, new readers and transactions of threads without an open
    /// transaction give way to it for a bounded time (<see cref="GiveWayToExclusive"/>).
    /// </summary>
    private T Exclusive<T>(string operation, Func<T> run)
    {
        ReopenIfBroken();
        var started = Stopwatch.GetTimestamp();
        var nextWindow = started;
        try
        {
            while (true)
            {
                var now = Stopwatch.GetTimestamp();
                if (now >= nextWindow)
                {
                    Volatile.Write(ref _giveWayUntil, now + (long)(DrainWindow.TotalSeconds * Stopwatch.Frequency));
                    nextWindow = now + (long)(DrainPeriod.TotalSeconds * Stopwatch.Frequency);
                }
                lock (_calls)
                {
                    var othersInTransaction = Volatile.Read(ref _openTransactions) - (InTransaction ? 1 : 0);
                    if (Volatile.Read(ref _openReaders) == 0 && othersInTransaction == 0)
                    {
                        try
                        {
                            return run();
                        }
                        catch (Exception ex) when (Broke(ex))
                        {
                            throw;
                        }
                    }
                }
                if (Stopwatch.GetElapsedTime(started) > _exclusiveTimeout)
                    throw new TimeoutException($"LiteDB {operation} waited {_exclusiveTimeout.TotalSeconds:0} s for open readers " +
                        $"({OpenReaders}) and transactions ({Volatile.Read(ref _openTransactions)}) of other threads to end.");
                Thread.Sleep(1);
            }
        }
        finally
        {
            Volatile.Write(ref _giveWayUntil, 0);
        }
    }

    /// <summary>
    /// A new reader or transaction waits while a pending checkpoint or rebuild holds its drain window open (one volatile
    /// read otherwise). A thread inside its own transaction never waits: the checkpoint waits for that transaction anyway.
    /// </summary>
    private void GiveWayToExclusive()
    {
        if (Volatile.Read(ref _giveWayUntil) == 0 || InTransaction) return;
        while (Volatile.Read(ref _giveWayUntil) is var until && until != 0 && Stopwatch.GetTimestamp() < until)
            Thread.Sleep(1);
    }

    /// <summary>
    /// Exception filter of every engine call (it never catches: the failure goes on to the caller unchanged, and the
    /// happy path costs nothing): an environmental failure marks the engine for reopening.
    /// </summary>
    private bool Broke(Exception ex)
    {
        if (_settings is not null && StorageFailure.IsEnvironmental(ex)) _broken ??= ex;
        return false;
    }

    /// <summary>The filter of writes: as <see cref="Broke"/>, and the failure is reported to <see cref="StorageHealth"/>.</summary>
    private bool WriteBroke(Exception ex)
    {
        if (!StorageFailure.IsEnvironmental(ex)) return false;
        if (_settings is not null) _broken ??= ex;
        _health?.WriteFailed(_name, ex);
        return false;
    }

    /// <summary>A write is refused when a reopening closed the thread's transaction (it would go on in auto-transactions).</summary>
    private void GuardWrite()
    {
        if (TransactionClosedByReopen)
            throw new IOException($"the transaction on {_name} was closed when the engine was reopened after a failed write; begin a new one");
    }

    /// <summary>
    /// A write that is one engine call (the rare ones: deletes, collection and index changes, pragmas): not inside a
    /// transaction closed by a reopen, one thread in the engine, and a failure that broke the engine noted (WriteBroke).
    /// </summary>
    private T OneWrite<T>(Func<ILiteEngine, T> call)
    {
        GuardWrite();
        lock (_calls)
        {
            try
            {
                return call(_inner);
            }
            catch (Exception ex) when (WriteBroke(ex))
            {
                throw;
            }
        }
    }

    public bool BeginTrans()
    {
        ReopenIfBroken();
        GiveWayToExclusive();
        lock (_calls)
        {
            if (TransactionClosedByReopen) _transactionOf.Value = 0; // a new transaction on the new engine
            bool begun;
            try
            {
                begun = _inner.BeginTrans();
            }
            catch (Exception ex) when (Broke(ex))
            {
                throw;
            }
            if (begun && !InTransaction)
            {
                _transactionOf.Value = _generation + 1;
                Interlocked.Increment(ref _openTransactions);
            }
            return begun;
        }
    }

    /// <summary>
    /// Commits the thread's transaction. When the commit fails, the transaction never outlives it: it is rolled back here,
    /// and after an I/O error (a full disk) the engine is reopened, since LiteDB keeps a failed commit's transaction on the
    /// thread (every later BeginTrans of that thread would say one is open) and a cache page the failed write never released.
    /// A commit whose transaction LiteDB had already released succeeded: what failed came after it (the automatic checkpoint
    /// LiteDB runs inside Commit), and the commit returns normally.
    /// </summary>
    public bool Commit()
    {
        Exception failure;
        bool landed;
        lock (_calls)
        {
            if (TransactionClosedByReopen)
            {
                _transactionOf.Value = 0;
                throw new IOException($"the transaction on {_name} was closed when the engine was reopened after a failed write; nothing of it was committed");
            }
            try
            {
                var committed = _inner.Commit();
                EndTransaction();
                if (_settings is not null) _health?.WriteSucceeded(_name);
                return committed;
            }
            catch (Exception ex)
            {
                failure = ex;
            }
            if (_settings is not null && StorageFailure.IsEnvironmental(failure)) _broken ??= failure; // the cause the log names
            try
            {
                landed = !_inner.Rollback(); // false: no transaction left, it was confirmed before the failure
            }
            catch (Exception rollbackFailure)
            {
                landed = false;
                if (_settings is not null) _broken ??= rollbackFailure;
            }
            EndTransaction();
            if (_settings is not null && (StorageFailure.IsEnvironmental(failure) || landed)) _broken ??= failure;
        }
        if (_broken is not null) Reopen(force: true);
        if (landed)
        {
            if (_settings is not null) _health?.WriteSucceeded(_name);
            return true;
        }
        if (StorageFailure.IsEnvironmental(failure)) _health?.WriteFailed(_name, failure);
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        return false;
    }

    /// <summary>
    /// Rolls the thread's transaction back. Never leaves it behind: when LiteDB cannot roll back (its rollback writes the
    /// transaction's new pages back as free pages, which fails on a full disk) or a write of the transaction failed with an
    /// I/O error, the engine is reopened, which drops the transaction with the engine's memory; the files hold only
    /// confirmed transactions. Does not throw for those: the thread has no transaction afterwards either way.
    /// </summary>
    public bool Rollback()
    {
        var rolledBack = false;
        lock (_calls)
        {
            if (TransactionClosedByReopen)
            {
                _transactionOf.Value = 0;
                return false;
            }
            try
            {
                rolledBack = _inner.Rollback();
            }
            catch (Exception ex) when (_settings is not null)
            {
                _broken ??= ex;
            }
            finally
            {
                EndTransaction();
            }
        }
        if (_broken is not null) Reopen(force: true);
        return rolledBack;
    }

    /// <summary>
    /// After a Commit that returned, or any Rollback, whatever they returned: LiteDB has already released a transaction
    /// that failed inside a write (Rollback then returns false), and the thread has no transaction either way.
    /// </summary>
    private void EndTransaction()
    {
        if (!InTransaction) return;
        _transactionOf.Value = 0;
        Interlocked.Decrement(ref _openTransactions);
    }

    /// <summary>A broken engine is reopened by the next call of a thread without a transaction, if no other thread has one.</summary>
    private void ReopenIfBroken()
    {
        if (_broken is null || InTransaction) return;
        Reopen(force: false);
    }

    /// <summary>
    /// Closes the engine and opens it again on the same files: what a restart of Cdp would do, without one. LiteDB's
    /// memory (the transactions of every thread, its locks, its page cache, its wal index) goes with the old engine;
    /// the new one reads the data file and the confirmed transactions of the log file. The log is cut to whole pages
    /// first: a write that failed half-way (ENOSPC after part of a page) would otherwise shift every later page.
    /// Without <paramref name="force"/> it runs only when no other thread has a reader or a transaction open (else a later
    /// call tries again). With it (the caller's own transaction failed) it waits up to <see cref="ReopenWait"/> for them,
    /// then closes them with the engine: their next call fails (a write transaction cannot be among them: writes are
    /// one transaction at a time).
    /// </summary>
    private void Reopen(bool force)
    {
        if (_settings is null || _closed) return;
        var generation = Volatile.Read(ref _generation);
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            lock (_calls)
            {
                if (_broken is null || _generation != generation) return; // reopened meanwhile
                var othersInTransaction = Volatile.Read(ref _openTransactions) - (InTransaction ? 1 : 0);
                var waited = Stopwatch.GetElapsedTime(started) > ReopenWait;
                if ((Volatile.Read(ref _openReaders) == 0 && othersInTransaction == 0) || (force && waited))
                {
                    ReopenNow();
                    return;
                }
                if (waited || !force) return; // not now: the next call of a thread without a transaction tries again
            }
            Thread.Sleep(1);
        }
    }

    /// <summary>Under <see cref="_calls"/>. On failure the engine stays broken and the next call tries again (at most once a second).</summary>
    private void ReopenNow()
    {
        var cause = _broken!;
        var now = Stopwatch.GetTimestamp();
        var last = Interlocked.Read(ref _lastReopenAttempt);
        if (_inner is ClosedEngine && Stopwatch.GetElapsedTime(last, now) < ReopenRetry) return;
        Interlocked.Exchange(ref _lastReopenAttempt, now);

        var old = _inner;
        ForgetTransactions(old);
        _generation++;
        _transactionOf.Value = 0;
        Volatile.Write(ref _openTransactions, 0);
        Volatile.Write(ref _openReaders, 0);
        try
        {
            old.Dispose(); // LiteDB's close collects its own errors (a held lock, a checkpoint that cannot write)
        }
        catch (Exception)
        {
            // the old engine is gone either way
        }
        try
        {
            CutLogToWholePages();
            _inner = new LiteEngine(_settings!);
            _broken = null;
            _health?.Reopened(_name, cause, null);
        }
        catch (Exception ex)
        {
            _inner = new ClosedEngine(_name, ex);
            _broken = ex;
            _health?.Reopened(_name, cause, ex);
        }
    }

    /// <summary>
    /// LiteDB 5.0.21's TransactionService has a finalizer that disposes a transaction nobody disposed. A transaction whose
    /// write failed cannot be disposed (its pages are in a state its Dispose rejects: "discarded page must be writable"),
    /// so closing its engine leaves it undisposed, and when the garbage collector later finalizes it the same check
    /// throws on the finalizer thread, which ends the process. Once its engine is closed such a transaction holds only
    /// memory: its finalizer is suppressed here, before the close. (Private fields of the pinned LiteDB version; if they
    /// are not found the engine is kept referenced instead, so that its transactions are never finalized.)
    /// </summary>
    private void ForgetTransactions(ILiteEngine engine)
    {
        if (engine is not LiteEngine lite) return;
        const System.Reflection.BindingFlags Private = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance;
        try
        {
            var monitor = typeof(LiteEngine).GetField("_monitor", Private)?.GetValue(lite);
            if (monitor?.GetType().GetField("_transactions", Private)?.GetValue(monitor) is System.Collections.IDictionary transactions)
            {
                object[] open;
                lock (transactions)
                {
                    open = new object[transactions.Count];
                    transactions.Values.CopyTo(open, 0);
                }
                foreach (var transaction in open) GC.SuppressFinalize(transaction);
                return;
            }
        }
        catch (Exception ex) when (ex is FieldAccessException or InvalidOperationException or NotSupportedException)
        {
        }
        lock (RetiredEngines) RetiredEngines.Add(engine);
    }

    /// <summary>Closed engines kept referenced when their transactions could not be reached (see <see cref="ForgetTransactions"/>).</summary>
    private static readonly List<ILiteEngine> RetiredEngines = [];

    private void CutLogToWholePages()
    {
        const int page = 8192; // LiteDB's PAGE_SIZE
        if (_settings!.LogStream is { } stream)
        {
            if (stream.Length % page != 0) stream.SetLength(stream.Length - stream.Length % page);
            return;
        }
        if (_settings.Filename is null) return;
        var log = LiteDbFiles.LogFileOf(_settings.Filename);
        try
        {
            using var file = new FileStream(log, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            if (file.Length % page != 0) file.SetLength(file.Length - file.Length % page);
        }
        catch (FileNotFoundException)
        {
            // no log (LiteDB deletes it when a close leaves it empty, also between a File.Exists and this open): nothing to cut
        }
    }

    public IBsonDataReader Query(string collection, Query query)
    {
        ReopenIfBroken();
        GiveWayToExclusive();
        lock (_calls)
        {
            if (query.Into is not null) GuardWrite();
            IBsonDataReader reader;
            try
            {
                reader = _inner.Query(collection, query);
            }
            catch (Exception ex) when (query.Into is null ? Broke(ex) : WriteBroke(ex))
            {
                throw;
            }
            Interlocked.Increment(ref _openReaders);
            return new SerialReader(this, reader, _generation);
        }
    }

    public int Insert(string collection, IEnumerable<BsonDocument> docs, BsonAutoId autoId) =>
        InTurns(docs, chunk => _inner.Insert(collection, chunk, autoId));

    public int Update(string collection, IEnumerable<BsonDocument> docs) => InTurns(docs, chunk => _inner.Update(collection, chunk));

    public int UpdateMany(string collection, BsonExpression transform, BsonExpression predicate) => OneWrite(e => e.UpdateMany(collection, transform, predicate));

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
        if (!InTransaction)
        {
            ReopenIfBroken();
            GuardWrite();
            lock (_calls)
            {
                try
                {
                    return write(docs);
                }
                catch (Exception ex) when (WriteBroke(ex))
                {
                    throw;
                }
            }
        }
        GuardWrite();
        var written = 0;
        foreach (var chunk in docs.Chunk(DocumentsPerTurn))
        {
            lock (_calls)
            {
                try
                {
                    written += write(chunk);
                }
                catch (Exception ex) when (WriteBroke(ex))
                {
                    throw;
                }
            }
        }
        return written;
    }

    public int Delete(string collection, IEnumerable<BsonValue> ids) => OneWrite(e => e.Delete(collection, ids));

    public int DeleteMany(string collection, BsonExpression predicate) => OneWrite(e => e.DeleteMany(collection, predicate));

    public bool DropCollection(string name) => OneWrite(e => e.DropCollection(name));

    public bool RenameCollection(string name, string newName) => OneWrite(e => e.RenameCollection(name, newName));

    public bool EnsureIndex(string collection, string name, BsonExpression expression, bool unique) => OneWrite(e => e.EnsureIndex(collection, name, expression, unique));

    public bool DropIndex(string collection, string name) => OneWrite(e => e.DropIndex(collection, name));

    public BsonValue Pragma(string name)
    {
        lock (_calls)
        {
            try
            {
                return _inner.Pragma(name);
            }
            catch (Exception ex) when (Broke(ex))
            {
                throw;
            }
        }
    }

    public bool Pragma(string name, BsonValue value) => OneWrite(e => e.Pragma(name, value));

    private volatile bool _closed;

    // _transactionOf stays undisposed (its finalizer frees it): a thread calling after the close must get LiteDB's own
    // "engine disposed" error, which callers such as StorageWatchdog recognise, not an ObjectDisposedException from here
    public void Dispose()
    {
        _closed = true;
        lock (_calls) _inner.Dispose();
    }

    /// <summary>
    /// A query's reader whose steps (each may read pages) take the engine's lock; Current and fields are plain values.
    /// A reader of an engine closed by a reopening fails its next step (its pages are gone with that engine).
    /// </summary>
    private sealed class SerialReader(SerialEngine engine, IBsonDataReader inner, int generation) : IBsonDataReader
    {
        private int _disposed;

        public BsonValue this[string field] => inner[field];

        public string Collection => inner.Collection;

        public BsonValue Current => inner.Current;

        public bool HasValues => inner.HasValues;

        public bool Read()
        {
            lock (engine._calls)
            {
                if (engine._generation != generation)
                    throw new IOException($"the query on {engine._name} was closed when the engine was reopened after a failed write; run it again");
                try
                {
                    return inner.Read();
                }
                catch (Exception ex) when (engine.Broke(ex))
                {
                    throw;
                }
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            lock (engine._calls)
            {
                if (engine._generation != generation) return; // its engine is closed, and the count was reset with it
                try
                {
                    inner.Dispose();
                }
                finally
                {
                    Interlocked.Decrement(ref engine._openReaders);
                }
            }
        }
    }

    /// <summary>Stands in for an engine that could not be reopened: every call fails with why, until a reopening succeeds.</summary>
    private sealed class ClosedEngine(string name, Exception failure) : ILiteEngine
    {
        private T Fail<T>() => throw new IOException($"{name} is unavailable: it could not be reopened after a failed write ({StorageFailure.Describe(failure)})", failure);

        public int Checkpoint() => Fail<int>();
        public long Rebuild(RebuildOptions options) => Fail<long>();
        public bool BeginTrans() => Fail<bool>();
        public bool Commit() => Fail<bool>();
        public bool Rollback() => false;
        public IBsonDataReader Query(string collection, Query query) => Fail<IBsonDataReader>();
        public int Insert(string collection, IEnumerable<BsonDocument> docs, BsonAutoId autoId) => Fail<int>();
        public int Update(string collection, IEnumerable<BsonDocument> docs) => Fail<int>();
        public int UpdateMany(string collection, BsonExpression transform, BsonExpression predicate) => Fail<int>();
        public int Upsert(string collection, IEnumerable<BsonDocument> docs, BsonAutoId autoId) => Fail<int>();
        public int Delete(string collection, IEnumerable<BsonValue> ids) => Fail<int>();
        public int DeleteMany(string collection, BsonExpression predicate) => Fail<int>();
        public bool DropCollection(string name) => Fail<bool>();
        public bool RenameCollection(string name, string newName) => Fail<bool>();
        public bool EnsureIndex(string collection, string name, BsonExpression expression, bool unique) => Fail<bool>();
        public bool DropIndex(string collection, string name) => Fail<bool>();
        public BsonValue Pragma(string name) => Fail<BsonValue>();
        public bool Pragma(string name, BsonValue value) => Fail<bool>();
        public void Dispose() { }
    }
}
