using Hangfire.Server;
using Cdp.Modules.Shared.Storage;
using LiteDB;
using Microsoft.Extensions.Logging;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>Deletes expired jobs, sets, hashes, lists and counters in small transactions (never one long one).</summary>
internal static class Expiration
{
    /// <summary>Rows per delete transaction: short commits keep the write gate free for the workers.</summary>
    public const int RowsPerCommit = 500;

    private static readonly (string Collection, string Field)[] Expiring =
    [
        (JobsDatabase.Jobs, JobFields.ExpireAt),
        (JobsDatabase.Sets, SetFields.ExpireAt),
        (JobsDatabase.Hashes, HashFields.ExpireAt),
        (JobsDatabase.Lists, ListFields.ExpireAt),
        (JobsDatabase.Counters, CounterFields.ExpireAt),
    ];

    public static int RemoveExpired(LiteDbJobStorage storage, DateTime now)
    {
        var nowTicks = JobDocuments.ToTicks(now);
        var removed = 0;
        foreach (var (collection, field) in Expiring)
        {
            while (true)
            {
                var expired = Filter.Between(field, 1L, nowTicks);
                var ids = storage.Database.Collection(collection).Find(expired, limit: RowsPerCommit).Select(r => r["_id"]).ToList();
                if (ids.Count == 0) break;
                removed += storage.Gate.Write(db =>
                {
                    var col = db.GetCollection(collection);
                    var count = 0;
                    foreach (var id in ids)
                    {
                        // Re-checked inside the transaction: a PersistJob may have landed since the read.
                        var row = col.FindById(id);
                        if (row is null || row[field].IsNull || row[field].AsInt64 > nowTicks) continue;
                        if (col.Delete(id)) count++;
                    }
                    return count;
                });
                if (ids.Count < RowsPerCommit) break;
            }
        }
        return removed;
    }
}

/// <summary>The storage-wide process that runs the expiration on one server of the storage.</summary>
internal sealed class ExpirationSweep(LiteDbJobStorage storage) : IBackgroundProcess
{
    public void Execute(BackgroundProcessContext context)
    {
        try
        {
            var removed = storage.RemoveExpired();
            if (removed > 0) storage.Log.LogDebug("Removed {Count} expired job records", removed);
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        context.Wait(storage.Options.ExpirationCheckInterval);
    }

    public override string ToString() => "Cdp jobs expiration";
}
