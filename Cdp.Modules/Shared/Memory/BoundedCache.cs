namespace Cdp.Modules.Shared.Memory;

/// <summary>
/// Deserialised documents by number, for one thread, at most <paramref name="capacity"/> of them (0: keeps nothing).
/// Callers TAKE an entry out while they change it and put it back after their commit, so the cache never holds
/// uncommitted state. When full, a tenth is dropped, roughly the oldest (a Dictionary enumerates in insertion order
/// until removals reuse its slots). Not thread-safe.
/// </summary>
public sealed class BoundedCache<TValue>(int capacity) where TValue : class
{
    private readonly Dictionary<long, TValue> _entries = new();

    public TValue? Take(long key) => _entries.Remove(key, out var value) ? value : null;

    public void Put(long key, TValue value)
    {
        if (capacity == 0) return;
        if (_entries.Count >= capacity)
            foreach (var k in _entries.Keys.Take(Math.Max(1, capacity / 10)).ToList()) _entries.Remove(k);
        _entries[key] = value;
    }

    public void Remove(long key) => _entries.Remove(key);

    public void Clear() => _entries.Clear();
}
