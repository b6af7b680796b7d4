using System.Globalization;
using Cdp.Modules.Shared.Storage;
using LiteDB;
using LiteDB.Engine;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>
/// The jobs file (cdp-jobs.db by default): a LiteDB database of its own, apart from cdp.db, so that job churn
/// never grows the event log's file and a checkpoint of one does not wait on the other.
/// The process holds the file exclusively (the lock file beside it, see DatabaseFileLock), which is what makes the
/// process-local distributed locks and id sequences of <see cref="LiteDbJobStorage"/> global.
/// </summary>
internal sealed class JobsDatabase : IDisposable
{
    // Collection names (one place, short: they are written into every page header).
    public const string Jobs = "jobs";
    public const string Queue = "queue";
    public const string Sets = "sets";
    public const string Hashes = "hashes";
    public const string Lists = "lists";
    public const string Counters = "counters";
    public const string Servers = "servers";

    private readonly DatabaseFileLock _ownership;
    private long _lastJobId;
    private long _lastQueueEntryId;
    private long _lastListEntryId;

    public JobsDatabase(string path, int checkpointPages = 1000, StorageHealth? health = null)
    {
        FilePath = System.IO.Path.GetFullPath(path);
        var dir = System.IO.Path.GetDirectoryName(FilePath);
        if (!string.IsNullOrEmpty(dir)) PrivateFiles.CreateFolder(dir);
        // One process per file (Shared/Storage/DatabaseFileLock, like cdp.db): a second process fails here instead of
        // corrupting the file through LiteDB's direct mode; a host stopping in this process is waited for a moment.
        _ownership = DatabaseFileLock.Acquire(FilePath);
        PrivateFiles.Restrict(FilePath); // 0600 before LiteDB creates them with the default mode
        PrivateFiles.Restrict(LiteDbFiles.LogFileOf(FilePath));

        try
        {
            // Direct file access, one caller at a time inside the engine (SerialEngine: LiteDB's page cache is not
            // thread-safe, and Hangfire's workers read side by side), reopened after a failed write (a full disk) so that
            // nothing of it stays behind.
            Database = new LiteDatabase(new SerialEngine(new EngineSettings
            {
                Filename = FilePath,
                // Ordinal: Hangfire keys are case-sensitive and the composite index keys below use \u0001 separators,
                // which a culture-aware comparison would ignore.
                Collation = new Collation(CultureInfo.InvariantCulture.LCID, CompareOptions.Ordinal),
            }, health), new BsonMapper());
            // a pragma write rewrites the header page: only when it changes, so that Cdp starts on a full disk with its files in place
            if (Database.CheckpointSize != checkpointPages) Database.CheckpointSize = checkpointPages;
            if (Database.Collation.SortOptions != CompareOptions.Ordinal)
                throw new InvalidOperationException($"The jobs file {FilePath} was created with collation {Database.Collation}; Cdp needs an ordinal one. Move the file away and restart.");
            EnsureSchema();
        }
        catch (Exception ex)
        {
            Database?.Dispose();
            _ownership.Dispose();
            if (StorageFailure.IsEnvironmental(ex)) throw new StorageUnavailableException(FilePath, ex);
            throw;
        }
    }

    public string FilePath { get; }

    public LiteDatabase Database { get; }

    public ILiteCollection<BsonDocument> Collection(string name) => Database.GetCollection(name, BsonAutoId.Int64);

    /// <summary>Job ids are handed out before the commit (Transaction.CreateJob returns one), so they come from here.</summary>
    public long NextJobId() => Interlocked.Increment(ref _lastJobId);

    /// <summary>Queue entry ids order a queue (FIFO) and are part of its index key, so they are known before the insert.</summary>
    public long NextQueueEntryId() => Interlocked.Increment(ref _lastQueueEntryId);

    public long NextListEntryId() => Interlocked.Increment(ref _lastListEntryId);

    private void EnsureSchema()
    {
        var jobs = Collection(Jobs);
        jobs.EnsureIndex(JobFields.StateKey);
        jobs.EnsureIndex(JobFields.ExpireAt);
        Collection(Queue).EnsureIndex(QueueFields.Slot);
        var sets = Collection(Sets);
        sets.EnsureIndex(SetFields.Order);
        sets.EnsureIndex(SetFields.ExpireAt);
        Collection(Hashes).EnsureIndex(HashFields.ExpireAt);
        var lists = Collection(Lists);
        lists.EnsureIndex(ListFields.Key);
        lists.EnsureIndex(ListFields.ExpireAt);
        Collection(Counters).EnsureIndex(CounterFields.ExpireAt);

        _lastJobId = MaxId(Jobs);
        _lastQueueEntryId = MaxId(Queue);
        _lastListEntryId = MaxId(Lists);
    }

    private long MaxId(string collection)
    {
        var last = Collection(collection).Query().OrderByDescending("_id").Limit(1).FirstOrDefault();
        return last is null ? 0 : last["_id"].AsInt64;
    }

    public void Dispose()
    {
        Database.Dispose();
        _ownership.Dispose();
    }
}

/// <summary>Field names and composite index keys. \u0001 separates parts: it sorts before every printable character.</summary>
internal static class Keys
{
    public const char Separator = '\u0001';

    /// <summary>Upper bound of a prefix range: no stored key part starts with U+FFFF.</summary>
    public const char RangeEnd = '\uffff';

    public static string Id(long id) => id.ToString("D19", CultureInfo.InvariantCulture);

    public static string Ticks(long ticks) => ticks.ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>A double as 16 hex digits whose ordinal order is the numeric order (negatives included).</summary>
    public static string Score(double score)
    {
        if (score == 0) score = 0; // -0.0 and 0.0 are one score
        var bits = BitConverter.DoubleToInt64Bits(score);
        var sortable = bits < 0 ? ~(ulong)bits : (ulong)bits | 0x8000_0000_0000_0000UL;
        return sortable.ToString("X16", CultureInfo.InvariantCulture);
    }

    public static string Compose(string a, string b) => string.Concat(a, Separator.ToString(), b);

    public static string Compose(string a, string b, string c) => string.Concat(a, Separator.ToString(), b, Separator.ToString(), c);

    /// <summary>Every key that starts with <paramref name="prefix"/> followed by the separator.</summary>
    public static BsonExpression Under(string field, string prefix) =>
        Filter.Between(field, prefix + Separator, prefix + Separator + RangeEnd);
}

internal static class JobFields
{
    public const string Type = "type";
    public const string Method = "method";
    public const string ParameterTypes = "paramTypes";
    public const string Arguments = "args";
    public const string Queue = "queue";
    public const string CreatedAt = "createdAt";
    public const string ExpireAt = "expireAt";
    public const string Parameters = "params";
    public const string State = "state";
    /// <summary>"StateName\u0001id": one index serves counts and newest/oldest-first pages per state.</summary>
    public const string StateKey = "stateKey";
    public const string History = "history";
}

internal static class StateFields
{
    public const string Name = "name";
    public const string Reason = "reason";
    public const string CreatedAt = "createdAt";
    public const string Data = "data";
}

internal static class QueueFields
{
    public const string Queue = "queue";
    public const string JobId = "jobId";
    /// <summary>
    /// The one index of the queue. Ready: "r\u0001queue\u0001entryId" (FIFO per queue).
    /// Fetched: "f\u0001invisibleUntilTicks\u0001entryId", so expired fetches are a prefix range.
    /// </summary>
    public const string Slot = "slot";
    public const string Token = "token";
    public const string FetchedAt = "fetchedAt";

    public const string Ready = "r";
    public const string Fetched = "f";
}

internal static class SetFields
{
    public const string Key = "key";
    public const string Value = "value";
    public const string Score = "score";
    /// <summary>"key\u0001sortableScore\u0001value": lowest-score reads are an index range.</summary>
    public const string Order = "order";
    public const string ExpireAt = "expireAt";
}

internal static class HashFields
{
    public const string Key = "key";
    public const string Field = "field";
    public const string Value = "value";
    public const string ExpireAt = "expireAt";
}

internal static class ListFields
{
    public const string Key = "key";
    public const string Value = "value";
    public const string ExpireAt = "expireAt";
}

internal static class CounterFields
{
    public const string Value = "value";
    public const string ExpireAt = "expireAt";
}

internal static class ServerFields
{
    public const string Workers = "workers";
    public const string Queues = "queues";
    public const string StartedAt = "startedAt";
    public const string Heartbeat = "heartbeat";
}
