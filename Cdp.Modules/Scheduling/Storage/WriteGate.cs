using System.Collections.Concurrent;
using LiteDB;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>
/// The single write gate of the jobs file: one thread runs every write, each inside a LiteDB transaction
/// (LiteDB binds transactions to their thread, so they never cross one). Writes that arrive together share
/// one commit (group commit); when one of them throws, the shared transaction is rolled back, that write alone
/// fails, and the others run again without it, so each caller's writes still land all together or not at all.
/// A write must therefore touch nothing outside the database before it returns.
/// </summary>
internal sealed class WriteGate : IDisposable
{
    /// <summary>Writes per shared commit: bounds the work lost to a rollback and the latency of the first writer.</summary>
    public const int MaxWritesPerCommit = 256;

    private readonly LiteDatabase _db;
    private readonly BlockingCollection<PendingWrite> _pending = new();
    private readonly Thread _writer;

    public WriteGate(LiteDatabase db, string name)
    {
        _db = db;
        _writer = new Thread(Run) { IsBackground = true, Name = name };
        _writer.Start();
    }

    /// <summary>LiteDB commits made, and writes they carried (writes / commits is the group-commit factor).</summary>
    public long Commits => Interlocked.Read(ref _commits);

    public long Writes => Interlocked.Read(ref _writes);

    private long _commits;
    private long _writes;

    public T Write<T>(Func<LiteDatabase, T> work)
    {
        var write = new PendingWrite<T>(work);
        Submit(write);
        return write.Result!;
    }

    public void Write(Action<LiteDatabase> work) => Write(db => { work(db); return true; });

    private void Submit(PendingWrite write)
    {
        if (Thread.CurrentThread == _writer) throw new InvalidOperationException("A write may not start another write.");
        try
        {
            _pending.Add(write);
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(WriteGate), "The jobs storage is closed.");
        }
        write.Done.Wait();
        if (write.Error is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
    }

    private void Run()
    {
        var batch = new List<PendingWrite>(MaxWritesPerCommit);
        foreach (var first in _pending.GetConsumingEnumerable())
        {
            batch.Clear();
            batch.Add(first);
            while (batch.Count < MaxWritesPerCommit && _pending.TryTake(out var next)) batch.Add(next);
            try
            {
                Commit(batch);
            }
            catch (Exception ex)
            {
                // Never leave a caller waiting: the gate itself failed (e.g. BeginTrans), so does every write.
                foreach (var write in batch) write.Complete(ex);
            }
        }
    }

    private void Commit(List<PendingWrite> batch)
    {
        while (batch.Count > 0)
        {
            var failed = TryCommitTogether(batch, out var error);
            if (failed < 0)
            {
                foreach (var write in batch) write.Complete(null);
                return;
            }
            if (failed == int.MaxValue)
            {
                // The commit itself failed (I/O): nothing landed, every write of the batch fails with it.
                foreach (var write in batch) write.Complete(error);
                return;
            }
            batch[failed].Complete(error);
            batch.RemoveAt(failed);
        }
    }

    /// <returns>-1 when all committed; the index of the write that threw; int.MaxValue when the commit failed.</returns>
    private int TryCommitTogether(List<PendingWrite> batch, out Exception? error)
    {
        error = null;
        if (!_db.BeginTrans()) throw new InvalidOperationException("A LiteDB transaction is already open on the write gate.");
        for (var i = 0; i < batch.Count; i++)
        {
            try
            {
                batch[i].Run(_db);
            }
            catch (Exception ex)
            {
                SafeRollback();
                error = ex;
                return i;
            }
        }
        try
        {
            _db.Commit();
            Interlocked.Increment(ref _commits);
            Interlocked.Add(ref _writes, batch.Count);
            return -1;
        }
        catch (Exception ex)
        {
            SafeRollback();
            error = ex;
            return int.MaxValue;
        }
    }

    /// <summary>
    /// Never leaves the transaction on the writer thread: SerialEngine reopens the engine when LiteDB cannot roll it back
    /// (a full disk), so the next batch begins a transaction of its own; what failed is reported to the writes.
    /// </summary>
    private void SafeRollback()
    {
        try { _db.Rollback(); } catch (Exception) { }
    }

    public void Dispose()
    {
        _pending.CompleteAdding();
        _writer.Join();
        _pending.Dispose();
    }

    private abstract class PendingWrite
    {
        public ManualResetEventSlim Done { get; } = new(false);

        public Exception? Error { get; private set; }

        public abstract void Run(LiteDatabase db);

        public void Complete(Exception? error)
        {
            Error = error;
            Done.Set();
        }
    }

    private sealed class PendingWrite<T>(Func<LiteDatabase, T> work) : PendingWrite
    {
        public T? Result { get; private set; }

        public override void Run(LiteDatabase db) => Result = work(db);
    }
}
