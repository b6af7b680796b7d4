using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Collection.EventLog;

/// <summary>The newest committed sequence, and a signal for readers waiting for more.</summary>
[Service]
internal sealed class LogHead
{
    private long _last;
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long Last => Volatile.Read(ref _last);

    public void Publish(long last)
    {
        Volatile.Write(ref _last, last);
        Interlocked.Exchange(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    public Task WaitForAfterAsync(long after, CancellationToken cancellationToken)
    {
        var signal = Volatile.Read(ref _signal); // read before checking Last: a Publish in between completes it
        return Last > after ? Task.CompletedTask : signal.Task.WaitAsync(cancellationToken);
    }
}
