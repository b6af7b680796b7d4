using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;

namespace Cdp.Modules.Collection.EventLog.LiteDb;

/// <summary>
/// The event log in cdp.db: one document per group commit (a chunk, see <see cref="EventLogSchema"/>) whose _id is the
/// sequence of its first event, and the refused events in dead_letters, in one transaction under the write gate.
/// </summary>
internal sealed class LiteEventLogStore(CdpDatabase db) : IEventLogStore
{
    public LogTail Recover(DateTime since)
    {
        var col = db.Collection(EventLogSchema.Collection);
        var next = 1L;
        var tail = new List<BsonDocument>();
        var first = true;
        foreach (var chunk in col.Find(Query.All("_id", Query.Descending)))
        {
            if (first)
            {
                next = chunk["_id"].AsInt64 + chunk[EventLogSchema.Events].AsArray.Count;
                first = false;
            }
            if (chunk[EventLogSchema.At].AsDateTime.ToUniversalTime() < since) break;
            tail.Add(chunk);
        }
        var recent = new List<(string, string, DateTime)>();
        for (var i = tail.Count - 1; i >= 0; i--)
        {
            var at = tail[i][EventLogSchema.At].AsDateTime.ToUniversalTime();
            foreach (var e in tail[i][EventLogSchema.Events].AsArray)
                recent.Add((e[EventLogSchema.Source].AsString, e[EventLogSchema.MessageId].AsString, at));
        }
        return new LogTail(next, recent);
    }

    public void Prepare(IReadOnlyList<AcceptedEvent> events)
    {
        foreach (var e in events) e.Prepared ??= EventLogSchema.EventDocument(e.Source, e.MessageId, e.Json);
    }

    public AppendResult Append(LogAppend append)
    {
        var (firstSequence, at, events, deadLetters) = append;
        var chunks = new List<BsonDocument>();
        BsonArray? current = null;
        var chunkBytes = 0;
        var seq = firstSequence;
        foreach (var e in events)
        {
            if (current is null || current.Count == EventLogSchema.MaxEventsPerChunk || chunkBytes + e.Json.Length > EventLogSchema.MaxChunkBytes)
            {
                current = new BsonArray();
                chunkBytes = 0;
                chunks.Add(new BsonDocument { ["_id"] = seq, [EventLogSchema.At] = at, [EventLogSchema.Events] = current });
            }
            current.Add(e.Prepared as BsonDocument ?? EventLogSchema.EventDocument(e.Source, e.MessageId, e.Json));
            chunkBytes += e.Json.Length;
            seq++;
        }
        db.InTransaction(d =>
        {
            if (chunks.Count > 0) d.GetCollection(EventLogSchema.Collection).Insert(chunks);
            if (deadLetters.Count > 0) d.GetCollection(EventLogSchema.DeadLetters, BsonAutoId.Int64).Insert(deadLetters.Select(r => DeadLetterDocument(r, at)));
        });
        return events.Count > 0 ? new AppendResult(firstSequence, events.Count) : default;
    }

    /// <summary>The append's first event is in the log: its transaction committed (LiteDB's one writer numbered it).</summary>
    public AppendResult? Stored(LogAppend append) =>
        append.Events.Count > 0 && Contains(append.FirstSequence) ? new AppendResult(append.FirstSequence, append.Events.Count) : null;

    /// <summary>The one writer is in this process: nobody else commits.</summary>
    public Task WatchHeadAsync(Action<long> committed, CancellationToken cancellationToken) => Task.CompletedTask;

    private bool Contains(long sequence) => EventLogSchema.ChunkStartAtOrBefore(db.Collection(EventLogSchema.Collection), sequence) is { } start
        && db.Collection(EventLogSchema.Collection).FindById(start) is { } chunk
        && sequence < start + chunk[EventLogSchema.Events].AsArray.Count;

    public long Rewrite(IUnitOfWork tx, IReadOnlyCollection<long> sequences, Func<byte[], byte[]> rewrite)
    {
        var col = tx.Lite().GetCollection(EventLogSchema.Collection);
        long rewritten = 0;
        var pending = new SortedSet<long>(sequences);
        while (pending.Count > 0)
        {
            var seq = pending.Min;
            var chunk = EventLogSchema.ChunkStartAtOrBefore(col, seq) is { } start ? col.FindById(start) : null;
            if (chunk is null) { pending.Remove(seq); continue; }
            var first = chunk["_id"].AsInt64;
            var events = chunk[EventLogSchema.Events].AsArray;
            var changed = false;
            for (var i = 0; i < events.Count; i++)
            {
                if (!pending.Remove(first + i)) continue;
                var e = events[i].AsDocument;
                e[EventLogSchema.Json] = rewrite(e[EventLogSchema.Json].AsBinary);
                rewritten++;
                changed = true;
            }
            pending.Remove(seq); // a sequence past the chunk's end does not exist
            if (changed) col.Update(chunk);
        }
        return rewritten;
    }

    public IReadOnlyList<LoggedEvent> ReadAfter(long afterSequence, long lastSequence, int maxEvents)
    {
        var result = new List<LoggedEvent>(Math.Min(maxEvents, 4096));
        var col = db.Collection(EventLogSchema.Collection);
        var startId = EventLogSchema.ChunkStartAtOrBefore(col, afterSequence + 1) ?? 1;
        foreach (var chunk in col.Find(Filter.GTE("_id", startId)))
        {
            var seq = chunk["_id"].AsInt64;
            var at = chunk[EventLogSchema.At].AsDateTime.ToUniversalTime();
            foreach (var e in chunk[EventLogSchema.Events].AsArray)
            {
                if (seq > lastSequence) return result;
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

    private static BsonDocument DeadLetterDocument(RejectedEvent r, DateTime at) =>
        EventLogSchema.DeadLetterDocument(r.Source, at, r.Index, r.Errors.Select(e => (e.Field, e.Message)), r.Raw);
}
