using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Collection.EventLog;

/// <summary>The newest committed sequence (this host's and, on PostgreSQL, every host's), and a signal for readers waiting for more.</summary>
[Service]
internal sealed class LogHead
{
    private long _last;
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long Last => Volatile.Read(ref _last);

    /// <summary>
    /// The log holds every sequence up to <paramref name="last"/>. Never moves back: the host's writer and the other hosts'
    /// commits (heard through the store) publish from two threads, and a late notification must not hide a newer head.
    /// </summary>
    public void Publish(long last)
    {
        var current = Volatile.Read(ref _last);
        while (last > current)
        {
            var seen = Interlocked.CompareExchange(ref _last, last, current);
            if (seen == current)
            {
                Interlocked.Exchange(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                return;
            }
            current = seen;
        }
    }

    public Task WaitForAfterAsync(long after, CancellationToken cancellationToken)
    {
        var signal = Volatile.Read(ref _signal); // read before checking Last: a Publish in between completes it
        return Last > after ? Task.CompletedTask : signal.Task.WaitAsync(cancellationToken);
    }
}
