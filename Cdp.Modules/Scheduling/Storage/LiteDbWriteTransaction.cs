using Hangfire.Common;
using Hangfire.States;
using Hangfire.Storage;
using LiteDB;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>
/// Hangfire's write transaction: operations are recorded, and Commit runs them all in one LiteDB transaction
/// on the write gate, so they land together or not at all. Locks taken through the transaction are held
/// until it is disposed.
/// </summary>
internal sealed class LiteDbWriteTransaction(LiteDbJobStorage storage, LiteDbConnection connection) : JobStorageTransaction
{
    private readonly List<Action<LiteDatabase, DateTime>> _commands = [];
    private readonly List<Action> _afterCommit = [];
    private readonly List<IDisposable> _locks = [];
    private bool _committed;

    /// <summary>Adds a raw command (tests use it to inject a failure half-way through a commit).</summary>
    internal void Add(Action<LiteDatabase, DateTime> command)
    {
        if (_committed) throw new InvalidOperationException("The transaction was already committed.");
        _commands.Add(command);
    }

    public override void Commit()
    {
        if (_committed) throw new InvalidOperationException("The transaction was already committed.");
        _committed = true;
        if (_commands.Count > 0)
        {
            var commands = _commands.ToArray();
            storage.Gate.Write(db =>
            {
                var now = storage.UtcNow;
                foreach (var command in commands) command(db, now);
            });
        }
        foreach (var after in _afterCommit) after();
    }

    public override void Dispose()
    {
        for (var i = _locks.Count - 1; i >= 0; i--) _locks[i].Dispose();
        _locks.Clear();
        base.Dispose();
    }

    // ---- locks and queue ----

    public override void AcquireDistributedLock(string resource, TimeSpan timeout) =>
        _locks.Add(connection.AcquireLockForTransaction(resource, timeout));

    public override void AddToQueue(string queue, string jobId)
    {
        ArgumentNullException.ThrowIfNull(queue);
        var id = ParseJobId(jobId);
        Add((db, _) => JobQueue.Add(db, storage.Database.NextQueueEntryId(), queue, id));
        _afterCommit.Add(() =>
        {
            storage.RememberQueue(queue);
            storage.Signal.Pulse();
        });
    }

    public override void RemoveFromQueue(IFetchedJob fetchedJob)
    {
        if (fetchedJob is not LiteDbFetchedJob fetched)
            throw new NotSupportedException($"Only jobs fetched from this storage can be acknowledged here, not {fetchedJob?.GetType().Name}.");
        var claim = fetched.Claim;
        Add((db, _) => JobQueue.Remove(db, claim.EntryId, claim.Token));
        _afterCommit.Add(fetched.MarkFinished);
    }

    // ---- jobs ----

    public override string CreateJob(Job job, IDictionary<string, string?> parameters, DateTime createdAt, TimeSpan expireIn)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(parameters);
        var id = storage.Database.NextJobId();
        var invocation = InvocationData.SerializeJob(job);
        var snapshot = new Dictionary<string, string?>(parameters);
        Add((db, _) => db.GetCollection(JobsDatabase.Jobs).Insert(JobDocuments.NewJob(id, invocation, snapshot, createdAt, createdAt + expireIn)));
        return JobIds.Format(id);
    }

    public override void SetJobParameter(string jobId, string name, string? value)
    {
        ArgumentNullException.ThrowIfNull(name);
        var id = ParseJobId(jobId);
        Add((db, _) => JobWrites.SetParameter(db, id, name, value));
    }

    public override void ExpireJob(string jobId, TimeSpan expireIn)
    {
        var id = ParseJobId(jobId);
        Add((db, now) => JobWrites.SetExpiration(db, id, now + expireIn));
    }

    public override void PersistJob(string jobId)
    {
        var id = ParseJobId(jobId);
        Add((db, _) => JobWrites.SetExpiration(db, id, null));
    }

    public override void SetJobState(string jobId, IState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var id = ParseJobId(jobId);
        Add((db, now) => JobWrites.AddState(db, id, JobDocuments.State(state, now), makeCurrent: true));
    }

    public override void AddJobState(string jobId, IState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var id = ParseJobId(jobId);
        Add((db, now) => JobWrites.AddState(db, id, JobDocuments.State(state, now), makeCurrent: false));
    }

    // ---- counters ----

    public override void IncrementCounter(string key) => Counter(key, +1, null);

    public override void IncrementCounter(string key, TimeSpan expireIn) => Counter(key, +1, expireIn);

    public override void DecrementCounter(string key) => Counter(key, -1, null);

    public override void DecrementCounter(string key, TimeSpan expireIn) => Counter(key, -1, expireIn);

    private void Counter(string key, long delta, TimeSpan? expireIn)
    {
        ArgumentNullException.ThrowIfNull(key);
        Add((db, now) => Records.AddToCounter(db, key, delta, expireIn is { } e ? now + e : null));
    }

    // ---- sets ----

    public override void AddToSet(string key, string value) => AddToSet(key, value, 0.0);

    public override void AddToSet(string key, string value, double score)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        Add((db, _) => Records.AddToSet(db, key, value, score));
    }

    public override void AddRangeToSet(string key, IList<string> items)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(items);
        var values = items.ToArray();
        Add((db, _) => { foreach (var value in values) Records.AddToSet(db, key, value, 0.0); });
    }

    public override void RemoveFromSet(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        Add((db, _) => Records.RemoveFromSet(db, key, value));
    }

    public override void RemoveSet(string key) => KeyCommand(key, (db, _) => Records.DeleteKey(db, JobsDatabase.Sets, key));

    public override void ExpireSet(string key, TimeSpan expireIn) => KeyCommand(key, (db, now) => Records.ExpireKey(db, JobsDatabase.Sets, key, now + expireIn));

    public override void PersistSet(string key) => KeyCommand(key, (db, _) => Records.ExpireKey(db, JobsDatabase.Sets, key, null));

    // ---- lists ----

    public override void InsertToList(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        Add((db, _) => Records.InsertToList(db, storage.Database.NextListEntryId(), key, value));
    }

    public override void RemoveFromList(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        Add((db, _) => Records.RemoveFromList(db, key, value));
    }

    public override void TrimList(string key, int keepStartingFrom, int keepEndingAt) =>
        KeyCommand(key, (db, _) => Records.TrimList(db, key, keepStartingFrom, keepEndingAt));

    public override void ExpireList(string key, TimeSpan expireIn) => KeyCommand(key, (db, now) => Records.ExpireKey(db, JobsDatabase.Lists, key, now + expireIn));

    public override void PersistList(string key) => KeyCommand(key, (db, _) => Records.ExpireKey(db, JobsDatabase.Lists, key, null));

    // ---- hashes ----

    public override void SetRangeInHash(string key, IEnumerable<KeyValuePair<string, string>> keyValuePairs)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(keyValuePairs);
        var fields = keyValuePairs.ToList();
        Add((db, _) => Records.SetRangeInHash(db, key, fields));
    }

    public override void RemoveHash(string key) => KeyCommand(key, (db, _) => Records.DeleteKey(db, JobsDatabase.Hashes, key));

    public override void ExpireHash(string key, TimeSpan expireIn) => KeyCommand(key, (db, now) => Records.ExpireKey(db, JobsDatabase.Hashes, key, now + expireIn));

    public override void PersistHash(string key) => KeyCommand(key, (db, _) => Records.ExpireKey(db, JobsDatabase.Hashes, key, null));

    private void KeyCommand(string key, Action<LiteDatabase, DateTime> command)
    {
        ArgumentNullException.ThrowIfNull(key);
        Add(command);
    }

    private static long ParseJobId(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        // An id this storage never issued names no job: the write is a no-op, as for a job that expired.
        return JobIds.TryParse(jobId, out var id) ? id : 0;
    }
}

/// <summary>Writes to job documents; a job that does not exist (expired, or never) is left alone.</summary>
internal static class JobWrites
{
    public static void SetParameter(LiteDatabase db, long jobId, string name, string? value)
    {
        var col = db.GetCollection(JobsDatabase.Jobs);
        var job = col.FindById(jobId);
        if (job is null) return;
        JobDocuments.SetPair(job[JobFields.Parameters].AsArray, name, value);
        col.Update(job);
    }

    public static void SetExpiration(LiteDatabase db, long jobId, DateTime? expireAt)
    {
        var col = db.GetCollection(JobsDatabase.Jobs);
        var job = col.FindById(jobId);
        if (job is null) return;
        job[JobFields.ExpireAt] = expireAt is { } e ? new BsonValue(JobDocuments.ToTicks(e)) : BsonValue.Null;
        col.Update(job);
    }

    public static void AddState(LiteDatabase db, long jobId, BsonDocument state, bool makeCurrent)
    {
        var col = db.GetCollection(JobsDatabase.Jobs);
        var job = col.FindById(jobId);
        if (job is null) return;
        job[JobFields.History].AsArray.Add(state);
        if (makeCurrent)
        {
            job[JobFields.State] = state;
            job[JobFields.StateKey] = JobDocuments.StateKey(state[StateFields.Name].AsString, jobId);
        }
        col.Update(job);
    }
}
