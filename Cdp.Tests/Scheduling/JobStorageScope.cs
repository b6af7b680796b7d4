using Cdp.Modules.Scheduling.Storage;
using Cdp.Tests.Support;
using Hangfire.Common;
using Hangfire.States;
using Hangfire.Storage;

namespace Cdp.Tests.Scheduling;

/// <summary>A LiteDB job storage on a temp file, with a clock the test moves. Reopen() simulates a restart.</summary>
internal sealed class JobStorageScope : IDisposable
{
    private readonly TempFolder _folder = new();

    public JobStorageScope(TimeSpan? invisibility = null, TimeSpan? poll = null)
    {
        Options = new LiteDbJobStorageOptions
        {
            Path = _folder.File("cdp-jobs.db"),
            InvisibilityTimeout = invisibility ?? TimeSpan.FromMinutes(5),
            QueuePollInterval = poll ?? TimeSpan.FromMilliseconds(50),
        };
        Storage = new LiteDbJobStorage(Options, Clock);
    }

    public ManualClock Clock { get; } = new();

    public LiteDbJobStorageOptions Options { get; private set; }

    public LiteDbJobStorage Storage { get; private set; }

    public IStorageConnection Connect() => Storage.GetConnection();

    /// <summary>Closes the storage as a crash would leave it (fetched jobs neither acknowledged nor requeued) and opens it again.</summary>
    public void Reopen(TimeSpan? invisibility = null)
    {
        Storage.Dispose();
        Options = Options with { InvisibilityTimeout = invisibility ?? Options.InvisibilityTimeout };
        Storage = new LiteDbJobStorage(Options, Clock);
    }

    public string CreateJob(IStorageConnection connection, string? state = null, string queue = "default")
    {
        var id = connection.CreateExpiredJob(Job.FromExpression(() => SampleJobs.Noop()), new Dictionary<string, string?>(), Clock.GetUtcNow().UtcDateTime, TimeSpan.FromHours(1));
        if (state is null) return id;
        using var tx = connection.CreateWriteTransaction();
        tx.SetJobState(id, state == EnqueuedState.StateName ? new EnqueuedState(queue) : new NamedState(state));
        if (state == EnqueuedState.StateName) tx.AddToQueue(queue, id);
        tx.Commit();
        return id;
    }

    public void Dispose()
    {
        Storage.Dispose();
        _folder.Dispose();
    }
}

internal sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>A state by name (Hangfire's own state classes need a running server for some of their data).</summary>
internal sealed class NamedState(string name, Dictionary<string, string>? data = null, string? reason = null) : IState
{
    public string Name => name;

    public string? Reason => reason;

    public bool IsFinal => false;

    public bool IgnoreJobLoadException => false;

    public Dictionary<string, string> SerializeData() => data ?? new Dictionary<string, string>();
}

public static class SampleJobs
{
    public static void Noop()
    {
    }

    public static void WithArgument(string value) => _ = value;
}
