using Cdp.Modules.Shared.Storage;
using Hangfire;
using Hangfire.Server;
using Hangfire.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>What the LiteDB job storage needs to know; the host fills it from Cdp:Scheduling.</summary>
internal sealed record LiteDbJobStorageOptions
{
    public required string Path { get; init; }

    /// <summary>
    /// How long a fetched job stays invisible to other workers without a keep-alive. The keep-alive extends it
    /// every fifth of this while the job runs, so only a dead process lets it lapse: then the job runs again.
    /// </summary>
    public TimeSpan InvisibilityTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often an idle worker looks for jobs whose lease lapsed (new jobs wake it at once).</summary>
    public TimeSpan QueuePollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often expired jobs, sets, hashes, lists and counters are deleted.</summary>
    public TimeSpan ExpirationCheckInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>LiteDB's automatic checkpoint of the jobs file, in 8 KB pages.</summary>
    public int CheckpointPages { get; init; } = 1000;
}

/// <summary>
/// Hangfire's JobStorage on a LiteDB file of its own. Writes go through one <see cref="WriteGate"/> (one thread,
/// one LiteDB transaction per commit); reads run on the caller's thread against the last committed state.
/// </summary>
internal sealed class LiteDbJobStorage : JobStorage, IDisposable
{
    /// <summary>Features advertised to Hangfire Core and the dashboard; each is implemented in this folder.</summary>
    private static readonly HashSet<string> Features = new(StringComparer.OrdinalIgnoreCase)
    {
        JobStorageFeatures.ExtendedApi,
        JobStorageFeatures.JobQueueProperty,
        JobStorageFeatures.ProcessesInsteadOfComponents,
        JobStorageFeatures.Connection.GetUtcDateTime,
        JobStorageFeatures.Connection.GetSetContains,
        JobStorageFeatures.Connection.LimitedGetSetCount,
        JobStorageFeatures.Connection.BatchedGetFirstByLowest,
        "BatchedGetFirstByLowestScoreFromSet", // the same feature under its 1.8 release-candidate name
        JobStorageFeatures.Transaction.AcquireDistributedLock,
        JobStorageFeatures.Transaction.CreateJob,
        JobStorageFeatures.Transaction.SetJobParameter,
        JobStorageFeatures.Transaction.RemoveFromQueue(typeof(LiteDbFetchedJob)),
        JobStorageFeatures.Monitoring.DeletedStateGraphs,
        JobStorageFeatures.Monitoring.AwaitingJobs,
    };

    private readonly TimeProvider _clock;
    private readonly HashSet<string> _knownQueues = new(StringComparer.Ordinal);
    private int _disposed;

    public LiteDbJobStorage(LiteDbJobStorageOptions options, TimeProvider? clock = null, ILogger? log = null, StorageHealth? health = null)
    {
        if (options.InvisibilityTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "InvisibilityTimeout must be positive.");
        if (options.QueuePollInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "QueuePollInterval must be positive.");
        Options = options;
        _clock = clock ?? TimeProvider.System;
        Log = log ?? NullLogger.Instance;
        Database = new JobsDatabase(options.Path, options.CheckpointPages, health);
        Gate = new WriteGate(Database.Database, "cdp-jobs-writer");
        Locks = new DistributedLocks();
        Signal = new QueueSignal();
        KeepAlive = new FetchKeepAlive(this);
        foreach (var queue in JobQueue.QueueNames(Database)) _knownQueues.Add(queue);
    }

    public LiteDbJobStorageOptions Options { get; }

    internal JobsDatabase Database { get; }

    internal WriteGate Gate { get; }

    internal DistributedLocks Locks { get; }

    internal QueueSignal Signal { get; }

    internal FetchKeepAlive KeepAlive { get; }

    internal ILogger Log { get; }

    public string FilePath => Database.FilePath;

    /// <summary>Reads see every write acknowledged before them (one file, one writer, committed before the ack).</summary>
    public override bool LinearizableReads => true;

    internal DateTime UtcNow => _clock.GetUtcNow().UtcDateTime;

    public override bool HasFeature(string featureId)
    {
        ArgumentNullException.ThrowIfNull(featureId);
        return Features.Contains(featureId);
    }

    public override IStorageConnection GetConnection() => new LiteDbConnection(this);

    public override IMonitoringApi GetMonitoringApi() => new LiteDbMonitoringApi(this);

    public override IEnumerable<IBackgroundProcess> GetStorageWideProcesses() => [new ExpirationSweep(this)];

    /// <summary>Deletes what expired up to now; returns how many records went. Run by <see cref="ExpirationSweep"/>.</summary>
    public int RemoveExpired() => Expiration.RemoveExpired(this, UtcNow);

    /// <summary>Moves the jobs file's -log.db into the data file (LiteDB waits for open transactions itself).</summary>
    public void Checkpoint() => Database.Database.Checkpoint();

    internal IReadOnlyList<string> KnownQueues()
    {
        lock (_knownQueues) return _knownQueues.Order(StringComparer.Ordinal).ToList();
    }

    internal void RememberQueue(string queue)
    {
        lock (_knownQueues) _knownQueues.Add(queue);
    }

    public override string ToString() => "LiteDB job storage: " + Database.FilePath;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        KeepAlive.Dispose();
        Signal.Close();
        Gate.Dispose();
        Database.Dispose();
    }
}

/// <summary>
/// Wakes a worker waiting for a job as soon as one is enqueued or requeued in this process: one worker per job,
/// not all of them (waking every idle worker for one job made them race for it, each with a write of its own).
/// </summary>
internal sealed class QueueSignal
{
    private readonly object _gate = new();
    private long _version;
    private bool _closed;

    public long Version => Interlocked.Read(ref _version);

    public void Pulse()
    {
        lock (_gate)
        {
            _version++;
            Monitor.Pulse(_gate);
        }
    }

    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Waits until something was enqueued after <paramref name="seen"/>, the timeout, or cancellation.</summary>
    public void Wait(long seen, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.Register(() => { lock (_gate) Monitor.PulseAll(_gate); });
        lock (_gate)
        {
            if (_version != seen || _closed || cancellationToken.IsCancellationRequested) return;
            Monitor.Wait(_gate, timeout);
        }
    }
}
