using Hangfire.Storage;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>
/// Hangfire's distributed locks for one jobs file. The file is held by one process only (see
/// <see cref="JobsDatabase"/>), so a process-local table is the whole truth: a lock is exclusive across
/// connections, reentrant for the connection that holds it, and dies with the process (no stale locks after a crash).
/// </summary>
internal sealed class DistributedLocks
{
    private readonly Dictionary<string, Holder> _held = new(StringComparer.Ordinal);

    /// <summary>Takes <paramref name="resource"/> for <paramref name="owner"/> (a connection) or throws DistributedLockTimeoutException.</summary>
    public IDisposable Acquire(string resource, object owner, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), "The lock timeout must be zero or positive.");
        var deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_held)
        {
            while (true)
            {
                if (!_held.TryGetValue(resource, out var holder))
                {
                    _held[resource] = new Holder(owner);
                    break;
                }
                if (ReferenceEquals(holder.Owner, owner))
                {
                    holder.Count++;
                    break;
                }
                var left = deadline - Environment.TickCount64;
                if (left <= 0) throw new DistributedLockTimeoutException(resource);
                Monitor.Wait(_held, (int)Math.Min(left, int.MaxValue));
            }
        }
        return new Release(this, resource, owner);
    }

    public bool IsHeld(string resource)
    {
        lock (_held) return _held.ContainsKey(resource);
    }

    private void Exit(string resource, object owner)
    {
        lock (_held)
        {
            if (!_held.TryGetValue(resource, out var holder) || !ReferenceEquals(holder.Owner, owner)) return;
            if (--holder.Count > 0) return;
            _held.Remove(resource);
            Monitor.PulseAll(_held);
        }
    }

    private sealed class Holder(object owner)
    {
        public object Owner { get; } = owner;

        public int Count { get; set; } = 1;
    }

    private sealed class Release(DistributedLocks locks, string resource, object owner) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) locks.Exit(resource, owner);
        }
    }
}
