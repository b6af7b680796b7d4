using System.Diagnostics;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Pipeline.Processing;

/// <summary>
/// Events the processor set aside because they fail alone (kept by <see cref="IProcessorStore"/>, by the event's
/// sequence), so that one bad event never stops processing for everyone. A listed failure waits for an admin:
/// retry (after a fix: applied now, then removed) or discard (it stays skipped for good, kept as a discarded entry so
/// that a reprocess skips it too). A reprocess tries the listed ones again at their place in the log.
/// Written by the processor thread only, inside its transactions; the in-memory index (which sequences are set aside)
/// follows the committed documents: <see cref="Committed"/> is called after each commit that changed them.
/// </summary>
[Service]
internal sealed class ProcessorFailures(IProcessorStore store)
{
    /// <summary>Characters of the stack trace kept per failure: the top frames say where it failed.</summary>
    private const int MaxStackChars = 2_000;

    /// <summary>Characters of the exception message kept (a message may quote a value from the event).</summary>
    private const int MaxMessageChars = 1_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<long, bool> _discarded = new(); // every set-aside sequence -> discarded?
    private long _highest;
    private int _listed;
    private long _setAsideTotal;

    /// <summary>Failures waiting for an admin (not discarded).</summary>
    public int Listed
    {
        get { lock (_lock) return _listed; }
    }

    /// <summary>Events set aside since start (each failure of a new event, and each failed reprocess attempt).</summary>
    public long SetAsideSinceStart => Interlocked.Read(ref _setAsideTotal);

    /// <summary>Loads the index of set-aside sequences (start-up).</summary>
    public void Load()
    {
        var all = store.FailureIndex();
        lock (_lock)
        {
            _discarded.Clear();
            foreach (var (sequence, discarded) in all) _discarded[sequence] = discarded;
            Recount();
        }
    }

    /// <summary>True when a batch starting at <paramref name="first"/> may hold a set-aside event (a reprocess passes them again).</summary>
    public bool AnyFrom(long first)
    {
        lock (_lock) return _discarded.Count > 0 && _highest >= first;
    }

    /// <summary>Null when <paramref name="sequence"/> is not set aside; otherwise whether it was discarded.</summary>
    public bool? State(long sequence)
    {
        lock (_lock) return _discarded.TryGetValue(sequence, out var d) ? d : null;
    }

    /// <summary>Inside the processor's transaction: records (or counts again) the failure of <paramref name="e"/>.</summary>
    public void Record(IUnitOfWork tx, LoggedEvent e, string type, string? name, Exception ex, DateTime at)
    {
        var stack = ex.StackTrace ?? new StackTrace(ex, false).ToString();
        store.RecordFailure(tx, e, type, name,
            new FailureCause(ex.GetType().FullName ?? ex.GetType().Name, Truncate(ex.Message, MaxMessageChars), Truncate(stack, MaxStackChars)), at);
    }

    /// <summary>After the commit: <paramref name="sequence"/> is set aside (listed, or discarded), or no longer (null).</summary>
    public void Committed(long sequence, bool? discarded, bool newlySetAside = false)
    {
        lock (_lock)
        {
            var had = _discarded.TryGetValue(sequence, out var was);
            if (had && !was) _listed--;
            if (discarded is { } d)
            {
                _discarded[sequence] = d;
                if (!d) _listed++;
                _highest = Math.Max(_highest, sequence);
            }
            else if (_discarded.Remove(sequence) && sequence == _highest) _highest = _discarded.Count == 0 ? 0 : _discarded.Keys.Max();
        }
        if (newlySetAside) Interlocked.Increment(ref _setAsideTotal);
    }

    private void Recount()
    {
        _highest = _discarded.Count == 0 ? 0 : _discarded.Keys.Max();
        _listed = _discarded.Count(p => !p.Value);
    }

    /// <summary>Listed failures after <paramref name="after"/>, ascending by sequence (committed state, any thread).</summary>
    public IReadOnlyList<ProcessorFailureView> List(long after, int limit, bool discarded = false) => store.Failures(after, limit, discarded);

    public ProcessorFailureView? Get(long sequence) => store.Failure(sequence);

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "…";
}

/// <summary>One event the processor set aside: where it came from, what failed, since when and how often.</summary>
internal sealed record ProcessorFailureView(
    long Sequence, string Source, string MessageId, string Type, string? Event, DateTime ReceivedAt,
    string Exception, string Message, string Stack, DateTime FirstFailedAt, DateTime LastFailedAt, int Attempts,
    bool Discarded, DateTime? DiscardedAt, string? DiscardedBy);
