namespace Cdp.Modules.Collection.EventLog;

/// <summary>
/// The (source, messageId) pairs accepted within the dedup window. Owned by the single log writer thread
/// (no locking); rebuilt from the tail of the log at start-up so deduplication holds across restarts.
/// </summary>
internal sealed class DedupIndex(TimeSpan window)
{
    private readonly Dictionary<(string Source, string MessageId), long> _seen = new();
    private readonly Queue<(string Source, string MessageId, long AtTicks)> _order = new();

    public int Count => _seen.Count;

    public bool Contains(string source, string messageId) => _seen.ContainsKey((source, messageId));

    public void Add(string source, string messageId, DateTime at)
    {
        if (window <= TimeSpan.Zero) return;
        if (_seen.TryAdd((source, messageId), at.Ticks)) _order.Enqueue((source, messageId, at.Ticks));
    }

    /// <summary>Forgets pairs older than the window.</summary>
    public void Expire(DateTime now)
    {
        var cutoff = (now - window).Ticks;
        while (_order.TryPeek(out var head) && head.AtTicks < cutoff)
        {
            _order.Dequeue();
            _seen.Remove((head.Source, head.MessageId));
        }
    }
}
