using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Segments.Membership;

/// <summary>
/// Which profile numbers may have a stored segment state (ISegmentStore): one bit per profile number, read
/// from the collection's _id index on first use, set before every write that can create one. Most profiles never
/// match a counted event, and reading their missing state was ~30% of the processor's document lookups (0.79 reads
/// per event at 150k profiles, of which 0.11 found a document). A bit may stay set after its document is deleted
/// (a merge, an erasure, a reprocess, a rolled-back batch): that only costs a lookup that finds nothing. A clear bit
/// always means "no document", because every creation goes through <see cref="Add"/> first.
/// All use is inside a transaction that holds the segment lock (ISegmentStore.Lock); the lock below is for safety.
/// </summary>
[Service]
internal sealed class StoredSegmentStates
{
    /// <summary>Profile numbers are event sequences; past this (2^34, ~2 GB of bits) every number counts as stored.</summary>
    internal const long MaxTracked = 1L << 34;

    private readonly Lock _lock = new();
    private ulong[] _bits = new ulong[1024];
    private bool _loaded;

    public void EnsureLoaded(ISegmentWrites segments)
    {
        lock (_lock)
        {
            if (_loaded) return;
            foreach (var profile in segments.StateIds()) Set(profile);
            _loaded = true;
        }
    }

    /// <summary>
    /// Counts the transactions that wrote segment states outside the processor's batches (sweeps, builds, erasures),
    /// so that the real-time participant drops the states it keeps in memory. Called inside that transaction, under the
    /// segment lock, so a batch (which takes the same lock) sees the new count whenever it could see the writes.
    /// </summary>
    public void OtherWriter() => Interlocked.Increment(ref _otherWrites);

    public long OtherWrites => Interlocked.Read(ref _otherWrites);

    private long _otherWrites;

    public bool MayExist(long profile)
    {
        if (profile is < 0 or >= MaxTracked) return true;
        lock (_lock)
        {
            if (!_loaded) return true;
            var word = profile >> 6;
            return word < _bits.Length && (_bits[word] & (1UL << (int)(profile & 63))) != 0;
        }
    }

    /// <summary>Call before writing a document that may be new.</summary>
    public void Add(long profile)
    {
        lock (_lock) Set(profile);
    }

    private void Set(long profile)
    {
        if (profile is < 0 or >= MaxTracked) return;
        var word = profile >> 6;
        if (word >= _bits.Length) Array.Resize(ref _bits, (int)Math.Max(word + 1, Math.Min(_bits.Length * 2L, (MaxTracked >> 6) + 1)));
        _bits[word] |= 1UL << (int)(profile & 63);
    }
}
