using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Collection.EventLog;

[Service]
internal sealed class EventLogReader(CdpDatabase db, LogHead head) : IEventLog
{
    public long LastSequence => head.Last;

    public IReadOnlyList<LoggedEvent> ReadAfter(long afterSequence, int maxEvents)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEvents, 1);
        var result = new List<LoggedEvent>(Math.Min(maxEvents, 4096));
        var last = head.Last; // never hand out a sequence the writer has not published
        if (afterSequence >= last) return result;
        var col = db.Collection(EventLogSchema.Collection);
        var startId = EventLogSchema.ChunkStartAtOrBefore(col, afterSequence + 1) ?? 1;
        foreach (var chunk in col.Find(Filter.GTE("_id", startId)))
        {
            var seq = chunk["_id"].AsInt64;
            var at = chunk[EventLogSchema.At].AsDateTime.ToUniversalTime();
            foreach (var e in chunk[EventLogSchema.Events].AsArray)
            {
                if (seq > last) return result;
                if (seq > afterSequence)
                {
                    result.Add(new LoggedEvent(seq, e[EventLogSchema.Source].AsString, e[EventLogSchema.MessageId].AsString, at,
                        e[EventLogSchema.Json].AsBinary));
                    if (result.Count == maxEvents) return result;
                }
                seq++;
            }
        }
        return result;
    }

    public Task WaitForEventsAfterAsync(long afterSequence, CancellationToken cancellationToken) =>
        head.WaitForAfterAsync(afterSequence, cancellationToken);
}
