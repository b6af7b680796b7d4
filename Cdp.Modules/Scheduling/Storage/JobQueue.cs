using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>
/// The queue collection: one entry per enqueued job. An entry is ready, or fetched by exactly one worker
/// under a fetch token until a deadline that the keep-alive pushes forward while the job runs.
/// Invariants: a claim happens on the write gate, so two workers never hold one entry; acknowledge and
/// requeue only act when the caller's token is still the entry's token (fencing a worker whose lease lapsed).
/// </summary>
internal static class JobQueue
{
    public static string ReadySlot(string queue, long entryId) => Keys.Compose(QueueFields.Ready, queue, Keys.Id(entryId));

    public static string FetchedSlot(DateTime invisibleUntil, long entryId) =>
        Keys.Compose(QueueFields.Fetched, Keys.Ticks(JobDocuments.ToTicks(invisibleUntil)), Keys.Id(entryId));

    public static BsonExpression ReadyIn(string queue) => Keys.Under(QueueFields.Slot, Keys.Compose(QueueFields.Ready, queue));

    public static BsonExpression AllFetched() => Keys.Under(QueueFields.Slot, QueueFields.Fetched);

    /// <summary>Fetched entries whose invisibility ended at or before <paramref name="now"/>.</summary>
    public static BsonExpression LapsedBy(DateTime now) => Filter.Between(QueueFields.Slot,
        QueueFields.Fetched + Keys.Separator,
        Keys.Compose(QueueFields.Fetched, Keys.Ticks(JobDocuments.ToTicks(now))) + Keys.Separator + Keys.RangeEnd);

    public static void Add(LiteDatabase db, long entryId, string queue, long jobId) =>
        db.GetCollection(JobsDatabase.Queue).Insert(new BsonDocument
        {
            ["_id"] = entryId,
            [QueueFields.Queue] = queue,
            [QueueFields.JobId] = jobId,
            [QueueFields.Slot] = ReadySlot(queue, entryId),
            [QueueFields.Token] = BsonValue.Null,
            [QueueFields.FetchedAt] = BsonValue.Null,
        });

    /// <summary>A cheap look without the write gate: is anything there to claim? The claim re-checks.</summary>
    public static bool AnythingToClaim(LiteDatabase db, string[] queues, DateTime now)
    {
        var col = db.GetCollection(JobsDatabase.Queue);
        foreach (var queue in queues)
            if (col.Exists(ReadyIn(queue))) return true;
        return FirstLapsed(col, queues, now) is not null;
    }

    /// <summary>Claims the first ready entry of the first queue that has one, else a lapsed fetch. Runs on the write gate.</summary>
    public static QueueClaim? Claim(LiteDatabase db, string[] queues, DateTime now, TimeSpan invisibility)
    {
        var col = db.GetCollection(JobsDatabase.Queue);
        BsonDocument? entry = null;
        foreach (var queue in queues)
        {
            entry = col.FindOne(ReadyIn(queue));
            if (entry is not null) break;
        }
        entry ??= FirstLapsed(col, queues, now);
        if (entry is null) return null;

        var id = entry["_id"].AsInt64;
        var token = Guid.NewGuid().ToString("N");
        entry[QueueFields.Slot] = FetchedSlot(now + invisibility, id);
        entry[QueueFields.Token] = token;
        entry[QueueFields.FetchedAt] = JobDocuments.ToTicks(now);
        col.Update(entry);
        return new QueueClaim(id, entry[QueueFields.Queue].AsString, entry[QueueFields.JobId].AsInt64, token);
    }

    private static BsonDocument? FirstLapsed(ILiteCollection<BsonDocument> col, string[] queues, DateTime now) =>
        col.Find(LapsedBy(now)).FirstOrDefault(e => queues.Contains(e[QueueFields.Queue].AsString, StringComparer.Ordinal));

    /// <summary>Acknowledge: deletes the entry if <paramref name="token"/> still holds it.</summary>
    public static bool Remove(LiteDatabase db, long entryId, string token)
    {
        var col = db.GetCollection(JobsDatabase.Queue);
        var entry = col.FindById(entryId);
        if (entry is null || entry[QueueFields.Token].AsString != token) return false;
        return col.Delete(entryId);
    }

    /// <summary>Requeue: makes the entry ready again (same place in its queue) if <paramref name="token"/> still holds it.</summary>
    public static bool Return(LiteDatabase db, long entryId, string token)
    {
        var col = db.GetCollection(JobsDatabase.Queue);
        var entry = col.FindById(entryId);
        if (entry is null || entry[QueueFields.Token].AsString != token) return false;
        entry[QueueFields.Slot] = ReadySlot(entry[QueueFields.Queue].AsString, entryId);
        entry[QueueFields.Token] = BsonValue.Null;
        entry[QueueFields.FetchedAt] = BsonValue.Null;
        return col.Update(entry);
    }

    /// <summary>Keep-alive: pushes the deadline of each still-held entry; returns the entries whose token was lost.</summary>
    public static List<long> Extend(LiteDatabase db, IEnumerable<KeyValuePair<long, string>> held, DateTime invisibleUntil)
    {
        var col = db.GetCollection(JobsDatabase.Queue);
        var lost = new List<long>();
        foreach (var (entryId, token) in held)
        {
            var entry = col.FindById(entryId);
            if (entry is null || entry[QueueFields.Token].AsString != token)
            {
                lost.Add(entryId);
                continue;
            }
            entry[QueueFields.Slot] = FetchedSlot(invisibleUntil, entryId);
            col.Update(entry);
        }
        return lost;
    }

    public static IEnumerable<string> QueueNames(JobsDatabase database) =>
        database.Collection(JobsDatabase.Queue).FindAll().Select(d => d[QueueFields.Queue].AsString).Distinct(StringComparer.Ordinal).ToList();
}

internal sealed record QueueClaim(long EntryId, string Queue, long JobId, string Token);
