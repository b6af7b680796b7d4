using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>
/// Keeps the jobs fetched by this process invisible while they run: every fifth of the invisibility timeout it
/// pushes all their deadlines forward in one write. A job that runs for hours is thus never handed to a second
/// worker; when the process dies the deadlines stop moving and the jobs run again (at least once).
/// </summary>
internal sealed class FetchKeepAlive : IDisposable
{
    /// <summary>The deadline is renewed this many times per timeout, so a few missed beats still keep the lease.</summary>
    public const int BeatsPerTimeout = 5;

    private readonly LiteDbJobStorage _storage;
    private readonly ConcurrentDictionary<long, string> _held = new();
    private readonly Timer _timer;
    private int _beating;

    public FetchKeepAlive(LiteDbJobStorage storage)
    {
        _storage = storage;
        var period = storage.Options.InvisibilityTimeout / BeatsPerTimeout;
        if (period < TimeSpan.FromMilliseconds(50)) period = TimeSpan.FromMilliseconds(50);
        _timer = new Timer(_ => Beat(), null, period, period);
    }

    public int HeldCount => _held.Count;

    public void Hold(QueueClaim claim) => _held[claim.EntryId] = claim.Token;

    public void Forget(long entryId) => _held.TryRemove(entryId, out _);

    /// <summary>One keep-alive beat (the timer's work; tests call it directly).</summary>
    public void Beat()
    {
        if (_held.IsEmpty || Interlocked.Exchange(ref _beating, 1) == 1) return;
        try
        {
            var snapshot = _held.ToArray();
            var until = _storage.UtcNow + _storage.Options.InvisibilityTimeout;
            var lost = _storage.Gate.Write(db => JobQueue.Extend(db, snapshot, until));
            foreach (var entryId in lost)
            {
                // Another worker owns it now (this process stalled past the deadline); its ack will be refused.
                if (_held.TryRemove(entryId, out _))
                    _storage.Log.LogWarning("Fetched queue entry {EntryId} lost its lease; the job may run again elsewhere", entryId);
            }
        }
        catch (ObjectDisposedException)
        {
        }
        catch (Exception ex)
        {
            _storage.Log.LogError(ex, "Keep-alive of fetched jobs failed; will retry on the next beat");
        }
        finally
        {
            Volatile.Write(ref _beating, 0);
        }
    }

    public void Dispose() => _timer.Dispose();
}
