using Hangfire.Storage;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>
/// A job handed to one worker. Acknowledge (RemoveFromQueue) and Requeue act only while the fetch token still
/// holds the queue entry. Disposed without either (the worker was stopped), the job goes back to its queue.
/// </summary>
internal sealed class LiteDbFetchedJob : IFetchedJob
{
    private readonly LiteDbJobStorage _storage;
    private int _finished;

    public LiteDbFetchedJob(LiteDbJobStorage storage, QueueClaim claim)
    {
        _storage = storage;
        Claim = claim;
        storage.KeepAlive.Hold(claim);
    }

    internal QueueClaim Claim { get; }

    public string JobId => Claim.JobId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public string Queue => Claim.Queue;

    public void RemoveFromQueue()
    {
        if (IsFinished) return;
        _storage.Gate.Write(db => JobQueue.Remove(db, Claim.EntryId, Claim.Token));
        MarkFinished();
    }

    public void Requeue()
    {
        if (IsFinished) return;
        var returned = _storage.Gate.Write(db => JobQueue.Return(db, Claim.EntryId, Claim.Token));
        MarkFinished();
        if (returned) _storage.Signal.Pulse();
    }

    /// <summary>Called after a transaction that removed this entry (transactional acknowledge) committed.</summary>
    internal void MarkFinished()
    {
        Interlocked.Exchange(ref _finished, 1);
        _storage.KeepAlive.Forget(Claim.EntryId);
    }

    private bool IsFinished => Volatile.Read(ref _finished) == 1;

    public void Dispose()
    {
        if (IsFinished) return;
        try
        {
            Requeue();
        }
        catch (ObjectDisposedException)
        {
            // The storage closed first: the lease lapses and the job runs again after restart.
            _storage.KeepAlive.Forget(Claim.EntryId);
        }
    }
}
