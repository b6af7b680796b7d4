using System.IO.Hashing;
using System.Numerics;
using System.Text;

namespace Cdp.Modules.Collection.EventLog;

/// <summary>
/// The (source, messageId) pairs accepted within the dedup window, kept as 128-bit hashes (a false duplicate needs a
/// 128-bit collision). Bounded: beyond <paramref name="maxEntries"/> the oldest pairs are forgotten before their window
/// ends (<see cref="EvictedEarly"/>), so a sustained high rate cannot grow memory without end. Owned by the single log
/// writer thread (no locking); rebuilt from the tail of the log at start-up so deduplication holds across restarts.
/// <para>
/// Layout, about 37 bytes per pair at the bound: the pairs sit once, in arrival order, in a ring of 24-byte entries
/// (key, arrival ticks), and an open-addressing table (linear probing, at most half full) holds 4-byte ring positions.
/// A HashSet of the keys beside a Queue of (key, time) took about 97 bytes per pair (both hold the key, the queue
/// doubles): 480 MB of a 950 MB heap at the default bound of 5M pairs.
/// </para>
/// </summary>
internal sealed class DedupIndex(TimeSpan window, int maxEntries)
{
    private const int InitialCapacity = 1 << 10;
    private const int Empty = -1;

    private readonly record struct Entry(ulong Low, ulong High, long AtTicks);

    private Entry[] _ring = new Entry[Math.Min(InitialCapacity, Math.Max(1, maxEntries))];
    private int _head; // ring position of the oldest pair
    private int[] _slots = NewSlots(InitialCapacity * 2);
    private int _shift = 64 - BitOperations.Log2(InitialCapacity * 2);
    private readonly ulong _seed = (ulong)Random.Shared.NextInt64();

    public int Count { get; private set; }

    /// <summary>Pairs forgotten before the end of their window because the index was full.</summary>
    public long EvictedEarly { get; private set; }

    public bool Contains(UInt128 key) => Find(key) >= 0;

    public void Add(string source, string messageId, DateTime at) => Add(Key(source, messageId), at);

    /// <param name="key">From <see cref="Key"/>: the writer hashes each event once and uses it for the check and the add.</param>
    public void Add(UInt128 key, DateTime at)
    {
        if (window <= TimeSpan.Zero) return;
        if (Find(key) >= 0) return;
        if (Count == maxEntries)
        {
            RemoveOldest();
            EvictedEarly++;
        }
        if (Count == _ring.Length) Grow();
        var position = (_head + Count) % _ring.Length;
        _ring[position] = new Entry((ulong)key, (ulong)(key >> 64), at.Ticks);
        Count++;
        Place(key, position);
    }

    /// <summary>Forgets pairs older than the window.</summary>
    public void Expire(DateTime now)
    {
        var cutoff = (now - window).Ticks;
        while (Count > 0 && _ring[_head].AtTicks < cutoff) RemoveOldest();
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

    private static UInt128 KeyOf(in Entry e) => ((UInt128)e.High << 64) | e.Low;

    /// <summary>
    /// Both halves of the key, a per-process seed and a multiplicative mix pick the home slot (top bits of the product),
    /// so message ids whose hashes share some bits do not pile up in one probe run.
    /// </summary>
    private int Home(UInt128 key) => (int)(((ulong)key ^ (ulong)(key >> 64) ^ _seed) * 0x9E3779B97F4A7C15UL >> _shift);

    /// <summary>The table slot holding <paramref name="key"/>'s ring position, or -1.</summary>
    private int Find(UInt128 key)
    {
        var mask = _slots.Length - 1;
        for (var i = Home(key); ; i = (i + 1) & mask)
        {
            var position = _slots[i];
            if (position == Empty) return -1;
            if (KeyOf(_ring[position]) == key) return i;
        }
    }

    private void Place(UInt128 key, int position)
    {
        var mask = _slots.Length - 1;
        var i = Home(key);
        while (_slots[i] != Empty) i = (i + 1) & mask;
        _slots[i] = position;
    }

    private void RemoveOldest()
    {
        var slot = Find(KeyOf(_ring[_head]));
        _ring[_head] = default;
        _head = (_head + 1) % _ring.Length;
        Count--;
        if (Count == 0) _head = 0;
        // backward-shift deletion: pull later members of the probe run into the hole so every lookup still ends at an empty slot
        var mask = _slots.Length - 1;
        var hole = slot;
        for (var i = (hole + 1) & mask; _slots[i] != Empty; i = (i + 1) & mask)
        {
            var home = Home(KeyOf(_ring[_slots[i]]));
            // the entry at i may move to the hole when its home is not in the cyclic range (hole, i]
            var stays = hole <= i ? home > hole && home <= i : home > hole || home <= i;
            if (stays) continue;
            _slots[hole] = _slots[i];
            hole = i;
        }
        _slots[hole] = Empty;
    }

    /// <summary>Doubles the ring (up to the bound), laying the pairs out from position 0, and re-indexes them.</summary>
    private void Grow()
    {
        var capacity = (int)Math.Min(maxEntries, (long)_ring.Length * 2);
        var ring = new Entry[capacity];
        for (var i = 0; i < Count; i++) ring[i] = _ring[(_head + i) % _ring.Length];
        _ring = ring;
        _head = 0;
        _slots = NewSlots((int)Math.Min(1 << 30, BitOperations.RoundUpToPowerOf2((uint)capacity) * 2));
        _shift = 64 - BitOperations.Log2((uint)_slots.Length);
        for (var i = 0; i < Count; i++) Place(KeyOf(_ring[i]), i);
    }

    private static int[] NewSlots(int length)
    {
        var slots = new int[length];
        Array.Fill(slots, Empty);
        return slots;
    }
}
