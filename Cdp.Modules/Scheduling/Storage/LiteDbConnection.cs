using System.Globalization;
using Hangfire.Common;
using Hangfire.Server;
using Hangfire.Storage;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>
/// Hangfire's storage connection. Reads run here against committed data; writes go through the write gate.
/// Missing jobs, hashes and parameters read as null, missing sets and lists as empty, missing counters as 0.
/// </summary>
internal sealed class LiteDbConnection(LiteDbJobStorage storage) : JobStorageConnection
{
    private readonly List<IDisposable> _locks = [];

    internal LiteDbJobStorage Storage { get; } = storage;

    private ILiteCollection<BsonDocument> Col(string name) => Storage.Database.Collection(name);

    public override IWriteOnlyTransaction CreateWriteTransaction() => new LiteDbWriteTransaction(Storage, this);

    public override IDisposable AcquireDistributedLock(string resource, TimeSpan timeout)
    {
        var handle = Storage.Locks.Acquire(resource, this, timeout);
        lock (_locks) _locks.Add(handle);
        return handle;
    }

    internal IDisposable AcquireLockForTransaction(string resource, TimeSpan timeout) => AcquireDistributedLock(resource, timeout);

    public override void Dispose()
    {
        // Locks die with their connection (released in reverse order of acquisition).
        lock (_locks)
        {
            for (var i = _locks.Count - 1; i >= 0; i--) _locks[i].Dispose();
            _locks.Clear();
        }
        base.Dispose();
    }

    // ---- jobs ----

    public override string CreateExpiredJob(Job job, IDictionary<string, string?> parameters, DateTime createdAt, TimeSpan expireIn)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(parameters);
        var id = Storage.Database.NextJobId();
        var invocation = InvocationData.SerializeJob(job);
        var snapshot = new Dictionary<string, string?>(parameters);
        Storage.Gate.Write(db => { db.GetCollection(JobsDatabase.Jobs).Insert(JobDocuments.NewJob(id, invocation, snapshot, createdAt, createdAt + expireIn)); });
        return JobIds.Format(id);
    }

    public override IFetchedJob FetchNextJob(string[] queues, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queues);
        if (queues.Length == 0) throw new ArgumentException("At least one queue is needed.", nameof(queues));
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var seen = Storage.Signal.Version;
            var now = Storage.UtcNow;
            if (JobQueue.AnythingToClaim(Storage.Database.Database, queues, now))
            {
                var invisibility = Storage.Options.InvisibilityTimeout;
                var claim = Storage.Gate.Write(db => JobQueue.Claim(db, queues, Storage.UtcNow, invisibility));
                if (claim is not null) return new LiteDbFetchedJob(Storage, claim);
                continue; // another worker was faster; look again at once
            }
            Storage.Signal.Wait(seen, Storage.Options.QueuePollInterval, cancellationToken);
        }
    }

    public override void SetJobParameter(string id, string name, string? value)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(name);
        if (!JobIds.TryParse(id, out var jobId)) return;
        Storage.Gate.Write(db => JobWrites.SetParameter(db, jobId, name, value));
    }

    public override string? GetJobParameter(string id, string name)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(name);
        if (!JobIds.TryParse(id, out var jobId)) return null;
        var job = Col(JobsDatabase.Jobs).FindById(jobId);
        return job is null ? null : JobDocuments.GetPair(job[JobFields.Parameters], name);
    }

    public override JobData? GetJobData(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        if (!JobIds.TryParse(jobId, out var id)) return null;
        var job = Col(JobsDatabase.Jobs).FindById(id);
        if (job is null) return null;
        var invocation = JobDocuments.Invocation(job);
        var (loaded, loadException) = JobDocuments.Load(invocation);
        return new JobData
        {
            Job = loaded,
            LoadException = loadException,
            InvocationData = invocation,
            CreatedAt = JobDocuments.FromTicks(job[JobFields.CreatedAt].AsInt64),
            State = JobDocuments.StateName(job),
            ParametersSnapshot = JobDocuments.Map(job[JobFields.Parameters], StringComparer.Ordinal),
        };
    }

    public override StateData? GetStateData(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        if (!JobIds.TryParse(jobId, out var id)) return null;
        var job = Col(JobsDatabase.Jobs).FindById(id);
        if (job is null || !job[JobFields.State].IsDocument) return null;
        var state = job[JobFields.State].AsDocument;
        return new StateData
        {
            Name = state[StateFields.Name].AsString,
            Reason = state[StateFields.Reason].IsNull ? null : state[StateFields.Reason].AsString,
            Data = JobDocuments.Map(state[StateFields.Data], StringComparer.OrdinalIgnoreCase),
        };
    }

    // ---- servers ----

    public override void AnnounceServer(string serverId, ServerContext context)
    {
        ArgumentNullException.ThrowIfNull(serverId);
        ArgumentNullException.ThrowIfNull(context);
        var now = JobDocuments.ToTicks(Storage.UtcNow);
        var queues = new BsonArray((context.Queues ?? []).Select(q => new BsonValue(q)));
        Storage.Gate.Write(db => db.GetCollection(JobsDatabase.Servers).Upsert(new BsonDocument
        {
            ["_id"] = serverId,
            [ServerFields.Workers] = context.WorkerCount,
            [ServerFields.Queues] = queues,
            [ServerFields.StartedAt] = now,
            [ServerFields.Heartbeat] = now,
        }));
    }

    public override void RemoveServer(string serverId)
    {
        ArgumentNullException.ThrowIfNull(serverId);
        Storage.Gate.Write(db => db.GetCollection(JobsDatabase.Servers).Delete(serverId));
    }

    public override void Heartbeat(string serverId)
    {
        ArgumentNullException.ThrowIfNull(serverId);
        var now = JobDocuments.ToTicks(Storage.UtcNow);
        var known = Storage.Gate.Write(db =>
        {
            var col = db.GetCollection(JobsDatabase.Servers);
            var server = col.FindById(serverId);
            if (server is null) return false;
            server[ServerFields.Heartbeat] = now;
            return col.Update(server);
        });
        // The server was removed as timed out by another: Hangfire restarts it under a new id.
        if (!known) throw new BackgroundServerGoneException();
    }

    public override int RemoveTimedOutServers(TimeSpan timeOut)
    {
        if (timeOut <= TimeSpan.Zero) throw new ArgumentException("The timeout must be positive.", nameof(timeOut));
        var cutoff = JobDocuments.ToTicks(Storage.UtcNow - timeOut);
        return Storage.Gate.Write(db =>
        {
            var col = db.GetCollection(JobsDatabase.Servers);
            var gone = col.FindAll().Where(s => s[ServerFields.Heartbeat].AsInt64 < cutoff).Select(s => s["_id"]).ToList();
            foreach (var id in gone) col.Delete(id);
            return gone.Count;
        });
    }

    public override DateTime GetUtcDateTime() => Storage.UtcNow;

    // ---- sets ----

    private IEnumerable<BsonDocument> SetRows(string key) => Col(JobsDatabase.Sets).Find(Keys.Under(SetFields.Order, key));

    public override HashSet<string> GetAllItemsFromSet(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return SetRows(key).Select(r => r[SetFields.Value].AsString).ToHashSet(StringComparer.Ordinal);
    }

    public override string? GetFirstByLowestScoreFromSet(string key, double fromScore, double toScore) =>
        GetFirstByLowestScoreFromSet(key, fromScore, toScore, 1).FirstOrDefault();

    public override List<string> GetFirstByLowestScoreFromSet(string key, double fromScore, double toScore, int count)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (toScore < fromScore) throw new ArgumentException("toScore must not be below fromScore.", nameof(toScore));
        if (count <= 0) throw new ArgumentException("count must be positive.", nameof(count));
        var range = Filter.Between(SetFields.Order,
            Keys.Compose(key, Keys.Score(fromScore)) + Keys.Separator,
            Keys.Compose(key, Keys.Score(toScore)) + Keys.Separator + Keys.RangeEnd);
        return Col(JobsDatabase.Sets).Query().Where(range).OrderBy(SetFields.Order).Limit(count).ToEnumerable()
            .Select(r => r[SetFields.Value].AsString).ToList();
    }

    public override long GetSetCount(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Col(JobsDatabase.Sets).LongCount(Keys.Under(SetFields.Order, key));
    }

    public override long GetSetCount(IEnumerable<string> keys, int limit)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (limit < 0) throw new ArgumentOutOfRangeException(nameof(limit), "limit must not be negative.");
        long total = 0;
        foreach (var key in keys)
        {
            total += SetRows(key).Take(limit - (int)total).Count();
            if (total >= limit) break;
        }
        return total;
    }

    public override bool GetSetContains(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        return Col(JobsDatabase.Sets).Exists(Filter.EQ("_id", Records.SetRowId(key, value)));
    }

    public override List<string> GetRangeFromSet(string key, int startingFrom, int endingAt)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (startingFrom < 0 || endingAt < startingFrom) return [];
        return Col(JobsDatabase.Sets).Query().Where(Keys.Under(SetFields.Order, key)).OrderBy(SetFields.Order)
            .Offset(startingFrom).Limit(endingAt - startingFrom + 1).ToEnumerable()
            .Select(r => r[SetFields.Value].AsString).ToList();
    }

    public override TimeSpan GetSetTtl(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return JobDocuments.Ttl(Records.SoonestExpiration(SetRows(key), SetFields.ExpireAt), Storage.UtcNow);
    }

    // ---- hashes ----

    private List<BsonDocument> HashRows(string key) => Col(JobsDatabase.Hashes).Find(Keys.Under("_id", key)).ToList();

    public override void SetRangeInHash(string key, IEnumerable<KeyValuePair<string, string>> keyValuePairs)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(keyValuePairs);
        var fields = keyValuePairs.ToList();
        Storage.Gate.Write(db => Records.SetRangeInHash(db, key, fields));
    }

    public override Dictionary<string, string?>? GetAllEntriesFromHash(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var rows = HashRows(key);
        if (rows.Count == 0) return null;
        return rows.ToDictionary(r => r[HashFields.Field].AsString, r => r[HashFields.Value].IsNull ? null : r[HashFields.Value].AsString, StringComparer.Ordinal);
    }

    public override string? GetValueFromHash(string key, string name)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(name);
        var row = Col(JobsDatabase.Hashes).FindById(Records.HashRowId(key, name));
        return row is null || row[HashFields.Value].IsNull ? null : row[HashFields.Value].AsString;
    }

    public override long GetHashCount(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Col(JobsDatabase.Hashes).LongCount(Keys.Under("_id", key));
    }

    public override TimeSpan GetHashTtl(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return JobDocuments.Ttl(Records.SoonestExpiration(HashRows(key), HashFields.ExpireAt), Storage.UtcNow);
    }

    // ---- lists ----

    public override long GetListCount(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Col(JobsDatabase.Lists).LongCount(Filter.EQ(ListFields.Key, key));
    }

    public override List<string> GetAllItemsFromList(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Records.ListRows(Col(JobsDatabase.Lists), key).Select(r => r[ListFields.Value].AsString).ToList();
    }

    public override List<string> GetRangeFromList(string key, int startingFrom, int endingAt)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (startingFrom < 0 || endingAt < startingFrom) return [];
        return Records.ListRows(Col(JobsDatabase.Lists), key).Skip(startingFrom).Take(endingAt - startingFrom + 1)
            .Select(r => r[ListFields.Value].AsString).ToList();
    }

    public override TimeSpan GetListTtl(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var rows = Col(JobsDatabase.Lists).Find(Filter.EQ(ListFields.Key, key));
        return JobDocuments.Ttl(Records.SoonestExpiration(rows, ListFields.ExpireAt), Storage.UtcNow);
    }

    // ---- counters ----

    public override long GetCounter(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Col(JobsDatabase.Counters).FindById(key)?[CounterFields.Value].AsInt64 ?? 0;
    }
}

/// <summary>Job ids are Int64 in the file and decimal strings in Hangfire.</summary>
internal static class JobIds
{
    public static string Format(long id) => id.ToString(CultureInfo.InvariantCulture);

    public static bool TryParse(string id, out long value) =>
        long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value > 0;
}
