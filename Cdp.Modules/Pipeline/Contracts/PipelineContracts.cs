using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Pipeline.Contracts;

/// <summary>
/// A module that keeps its own projection in step with the profiles (segment membership, matching's journal): it joins
/// the pipeline's batch through this contract, so the pipeline never names the modules above it. The processor calls every registered participant once per batch, on its own thread, INSIDE the batch's
/// transaction (a unit of work of the storage provider), after the profile writes and before the checkpoint: whatever the participant writes
/// with <paramref name="tx"/> commits (or rolls back) together with the profiles and the checkpoint, so a crash
/// never leaves it a batch ahead or behind. Rules: no await, no other thread, no long work (the batch holds the
/// write lock); throw to fail the batch: an I/O or storage exception retries it as it is (with backoff), any other splits
/// it until the events that fail alone are set aside, so the same events may come again in other batches. Keep nothing in
/// memory from a batch before <see cref="Committed"/>. Reads through <see cref="IProfileReader"/> see the batch's writes.
/// </summary>
public interface IProfileBatchParticipant
{
    void OnBatch(ProfileBatch batch, IUnitOfWork tx);

    /// <summary>
    /// The transaction of <paramref name="batch"/> (given to <see cref="OnBatch"/>) committed: called right after, on the
    /// processor thread, never for a batch that rolled back. From here a participant may keep what it wrote in memory.
    /// It must not fail (the batch is committed; an exception is logged and ignored).
    /// </summary>
    void Committed(ProfileBatch batch) { }

    /// <summary>A reprocess is starting: drop the derived state (same transaction as the profiles' reset).</summary>
    void OnReset(IUnitOfWork tx);
}

/// <summary>What one committed batch changed. <see cref="LastSequence"/> is the checkpoint it commits.</summary>
public sealed record ProfileBatch(ProfileBatchKind Kind, long FirstSequence, long LastSequence, IReadOnlyList<ProfileChange> Changes);

public enum ProfileBatchKind { Events, Unmerge }

/// <summary>The background processor: log -> identity -> profiles (-> participants), one batch per transaction.</summary>
public interface IProfileProcessor
{
    ProcessorStatus Status { get; }

    /// <summary>Completes when every event up to <paramref name="sequence"/> is processed.</summary>
    Task WaitForCheckpointAsync(long sequence, CancellationToken cancellationToken);

    /// <summary>Undoes a merge record; null when it does not exist.</summary>
    Task<UnmergeResult?> UnmergeAsync(string mergeId, CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="command"/> on the processor's thread between two batches (processing is paused meanwhile), e.g. a
    /// privacy erasure that must not interleave with a batch. The command may open its own transaction (CdpDatabase.InTransaction);
    /// the processor's profile cache is dropped afterwards.
    /// </summary>
    Task<T> RunExclusiveAsync<T>(Func<T> command, CancellationToken cancellationToken);

    /// <summary>
    /// Probabilistic merges (matching decisions), applied in order on the processor thread after the current checkpoint,
    /// in one transaction; each outcome says whether it merged or why not (merge rules, already one, gone).
    /// </summary>
    Task<IReadOnlyList<LinkOutcome>> LinkAsync(IReadOnlyList<ProfileLink> links, CancellationToken cancellationToken);

    /// <summary>Clears identity graph and profiles (not the log, not unmerge decisions); completes once the reset is committed. Processing then restarts at sequence 1.</summary>
    Task ReprocessAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stops taking event batches (commands such as unmerge and erasure still run); completes once no batch is in flight.
    /// Collection goes on: events are acknowledged and wait in the log. With one host not persisted (a restart resumes processing); with several hosts kept in the database, so it outlives a fail-over.
    /// </summary>
    Task PauseAsync(CancellationToken cancellationToken);

    /// <summary>Takes event batches again from the checkpoint.</summary>
    Task ResumeAsync(CancellationToken cancellationToken);
}

public sealed record ProcessorStatus(
    bool Running, long Checkpoint, long LogHead, long ProcessedSinceStart, long UnattributedSinceStart,
    double EventsPerSecond, double FreshnessP95Milliseconds, string? LastError, bool Paused = false, int LastBatchEvents = 0,
    double LastBatchWriteMilliseconds = 0)
{
    /// <summary>The processor's thread died (see <see cref="DeadReason"/>): every command fails at once, nothing is processed.</summary>
    public bool Dead { get; init; }

    public string? DeadReason { get; init; }

    /// <summary>Commands (pause, deletions, unmerges, ...) posted to the processor's thread and not yet started.</summary>
    public int QueuedCommands { get; init; }

    /// <summary>
    /// Set while processing fails for a reason outside the events (I/O, disk full, the database engine): the batch is
    /// retried with backoff, nothing is set aside, and /health/ready is unhealthy. Null when processing works.
    /// </summary>
    public string? EnvironmentalError { get; init; }

    public DateTime? EnvironmentalErrorSince { get; init; }

    /// <summary>Failed attempts in the current environmental failure.</summary>
    public int RetryAttempts { get; init; }

    public DateTime? NextRetryAt { get; init; }

    /// <summary>Events set aside because they fail alone, waiting for an admin (GET /api/profiles/processor/failures).</summary>
    public int FailedEvents { get; init; }

    public long SetAsideSinceStart { get; init; }

    /// <summary>This host's name ("machine pid 123").</summary>
    public string? Host { get; init; }

    /// <summary>
    /// This host runs the profile processor: always with one host per database; with Cdp:Storage:Hosts = Several, the one
    /// host holding the lead (the others follow the stored checkpoint and take over when it stops).
    /// </summary>
    public bool Leading { get; init; } = true;

    /// <summary>The host that runs the profile processor, when known.</summary>
    public string? Leader { get; init; }
}

public sealed record UnmergeResult(string MergeId, string DissolvedProfile, IReadOnlyList<string> Profiles, int EventsReplayed);
