using System.IO.Hashing;
using System.Text;

namespace Cdp.Modules.Collection.EventLog;

/// <summary>
/// The (source, messageId) pairs accepted within the dedup window, kept as 128-bit hashes (about 70 bytes per event
/// instead of ~160 with the strings; a false duplicate needs a 128-bit collision). Bounded: beyond
/// <paramref name="maxEntries"/> the oldest pairs are forgotten before their window ends (<see cref="EvictedEarly"/>),
/// so a sustained high rate cannot grow memory without end. Owned by the single log writer thread (no locking);
/// rebuilt from the tail of the log at start-up so deduplication holds across restarts.
/// </summary>
internal sealed class DedupIndex(TimeSpan window, int maxEntries)
{
    private readonly HashSet<UInt128> _seen = new();
    private readonly Queue<(UInt128 Key, long AtTicks)> _order = new();

    public int Count => _seen.Count;

    /// <summary>Pairs forgotten before the end of their window because the index was full.</summary>
    public long EvictedEarly { get; private set; }

    public bool Contains(UInt128 key) => _seen.Contains(key);

    public void Add(string source, string messageId, DateTime at) => Add(Key(source, messageId), at);

    /// <param name="key">From <see cref="Key"/>: the writer hashes each event once and uses it for the check and the add.</param>
    public void Add(UInt128 key, DateTime at)
    {
        if (window <= TimeSpan.Zero) return;
        if (!_seen.Add(key)) return;
        _order.Enqueue((key, at.Ticks));
        if (_seen.Count <= maxEntries) return;
        _seen.Remove(_order.Dequeue().Key);
        EvictedEarly++;
    }

    /// <summary>Forgets pairs older than the window.</summary>
    public void Expire(DateTime now)
    {
        var cutoff = (now - window).Ticks;
        while (_order.TryPeek(out var head) && head.AtTicks < cutoff)
        {
            _order.Dequeue();
            _seen.Remove(head.Key);
        }
    }

    public static UInt128 Key(string source, string messageId)
    {
        // source, a separator no UTF-8 text contains (0xFF), messageId: ("a", "bc") and ("ab", "c") differ
        var length = Encoding.UTF8.GetByteCount(source) + 1 + Encoding.UTF8.GetByteCount(messageId);
        Span<byte> buffer = length <= 512 ? stackalloc byte[512] : new byte[length];
        var n = Encoding.UTF8.GetBytes(source, buffer);
        buffer[n++] = 0xFF;
        n += Encoding.UTF8.GetBytes(messageId, buffer[n..]);
        return XxHash128.HashToUInt128(buffer[..n]);
    }
}
