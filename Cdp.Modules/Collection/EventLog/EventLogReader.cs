using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Collection.EventLog;

[Service]
internal sealed class EventLogReader(IEventLogStore store, LogHead head) : IEventLog
{
    public long LastSequence => head.Last;

    public IReadOnlyList<LoggedEvent> ReadAfter(long afterSequence, int maxEvents)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEvents, 1);
        var last = head.Last; // never hand out a sequence the writer has not published
        return afterSequence >= last ? [] : store.ReadAfter(afterSequence, last, maxEvents);
    }

    public Task WaitForEventsAfterAsync(long afterSequence, CancellationToken cancellationToken) =>
        head.WaitForAfterAsync(afterSequence, cancellationToken);
}
