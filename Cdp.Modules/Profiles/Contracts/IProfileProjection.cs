using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Profiles.Contracts;

/// <summary>
/// The profile projection as the pipeline drives it, on the processor's thread only (not thread-safe): one
/// <see cref="IProfileWork"/> per batch, written inside the batch's transaction. Profiles owns its documents, its cache of
/// recently written profiles and its settings; the pipeline owns the loop, the transaction and the checkpoint.
/// </summary>
public interface IProfileProjection
{
    /// <summary>How the pipeline sizes its batches (Cdp:Profiles:BatchSize, CatchUpBatchSize, MaxWriteMilliseconds).</summary>
    ProfileBatchSizes BatchSizes { get; }

    /// <summary>The work of one batch of events (or of links), on the live profiles (through the cache).</summary>
    IProfileWork Begin();

    /// <summary>
    /// The work of an unmerge replay: <paramref name="dissolve"/> (profile numbers) are deleted and rebuilt from scratch
    /// from the events replayed into it; the cache is dropped first.
    /// </summary>
    IProfileWork BeginRebuild(IReadOnlyList<long> dissolve);

    /// <summary>The event sequences of a live profile, ascending (its timeline index); empty when unknown or merged away.</summary>
    IReadOnlyList<long> Timeline(long profile);

    /// <summary>Inside the caller's transaction: puts the profile's timeline back in sequence order after an event applied late.</summary>
    void SortTimeline(IUnitOfWork tx, long profile);

    /// <summary>Forgets the cached profiles (after a command wrote them outside a batch, an erasure for example, or a resync).</summary>
    void DropCache();

    /// <summary>Inside the caller's transaction: deletes every profile, timeline and account before a reprocess (the cache goes too).</summary>
    void Reset(IUnitOfWork tx);
}

/// <summary>The batch-size settings of Cdp:Profiles the pipeline reads (see README, Profiles).</summary>
public sealed record ProfileBatchSizes(int BatchSize, int CatchUpBatchSize, int MaxWriteMilliseconds);

/// <summary>
/// The profiles one batch touches, in memory while its events are applied in sequence order; each changed profile is
/// written once, by <see cref="Write"/>, inside the batch's transaction.
/// </summary>
public interface IProfileWork
{
    /// <summary>Applies one event (its normalised payload) to the profile identity resolved it to.</summary>
    void Apply(long profile, bool created, LoggedEvent logged, JsonElement payload);

    /// <summary>A group call's traits go to the account whoever the caller turns out to be (even unattributed).</summary>
    void ApplyAccount(LoggedEvent logged, JsonElement payload);

    /// <summary>Folds the loser into the winner (a merge identity made).</summary>
    void Merge(long winner, long loser);

    /// <summary>Inside the batch transaction.</summary>
    void Write(IUnitOfWork tx);

    /// <summary>After the commit: the written profiles become the cache's.</summary>
    void Committed();

    /// <summary>What changed, for the batch participants; <paramref name="now"/> evaluates the computed traits of the views.</summary>
    IReadOnlyList<ProfileChange> Changes(DateTime now);
}
