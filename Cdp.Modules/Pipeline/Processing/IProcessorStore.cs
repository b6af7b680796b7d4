using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Pipeline.Processing;

/// <summary>
/// What the processor keeps of its own: the checkpoint (the last sequence whose batch committed) and the events it set
/// aside (<see cref="ProcessorFailures"/>). Writes happen inside the processor's transactions. One implementation per provider.
/// </summary>
internal interface IProcessorStore
{
    /// <summary>The committed checkpoint (0 before the first batch).</summary>
    long Checkpoint();

    /// <summary>
    /// Moves the checkpoint from <paramref name="from"/> to <paramref name="through"/> inside the batch's transaction. When
    /// the stored checkpoint is not <paramref name="from"/>, another processor moved it (another host took the lead while
    /// this one still worked): throws <see cref="CheckpointMovedException"/> and the whole batch rolls back, so no two
    /// processors ever commit over each other (the fence behind leadership, issue #28).
    /// </summary>
    void WriteCheckpoint(IUnitOfWork tx, long from, long through);

    /// <summary>
    /// Whether an admin paused processing (kept with several hosts, so that a pause outlives a fail-over: the host that takes
    /// the lead reads it). With one host a pause lives in memory and a restart resumes, as documented.
    /// </summary>
    bool Paused();

    void SetPaused(bool paused);

    /// <summary>Every set-aside sequence and whether it was discarded (start-up: the in-memory index).</summary>
    IReadOnlyList<(long Sequence, bool Discarded)> FailureIndex();

    /// <summary>Records the failure of <paramref name="e"/>, or counts one more attempt of a recorded one (keeping its first time).</summary>
    void RecordFailure(IUnitOfWork tx, LoggedEvent e, string type, string? name, FailureCause cause, DateTime at);

    void RemoveFailure(IUnitOfWork tx, long sequence);

    /// <summary>Marks a listed failure discarded; false when it is not listed (unknown, or discarded already).</summary>
    bool DiscardFailure(IUnitOfWork tx, long sequence, string by, DateTime at);

    /// <summary>Failures after <paramref name="after"/> that are (or are not) discarded, ascending by sequence.</summary>
    IReadOnlyList<ProcessorFailureView> Failures(long after, int limit, bool discarded);

    ProcessorFailureView? Failure(long sequence);

    /// <summary>Every failure (a scan: they are few, each waits for an admin).</summary>
    IEnumerable<ProcessorFailureView> AllFailures();

    long DeleteFailures(IUnitOfWork tx, IReadOnlyCollection<long> sequences);

    /// <summary>Stores a set-aside event as it is, attempts and discard included (for storage copy).</summary>
    void ImportFailure(IUnitOfWork tx, ProcessorFailureView failure);
}

/// <summary>What failed, as kept (already truncated): the exception's type, message and stack.</summary>
internal sealed record FailureCause(string Exception, string Message, string Stack);

/// <summary>The stored checkpoint is not where this processor left it: another processor committed since (see <see cref="IProcessorStore.WriteCheckpoint"/>).</summary>
internal sealed class CheckpointMovedException(long expected, long stored)
    : Exception($"the checkpoint is at {stored}, not at {expected} where this processor left it: another host processes this log")
{
    public long Stored { get; } = stored;
}
