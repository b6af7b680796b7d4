using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Identity.Contracts;

/// <summary>
/// Deterministic identity resolution, driven by the profile processor on its own thread (not thread-safe).
/// A batch stages every change in memory; <see cref="IIdentityBatch.Write"/> writes them inside the processor's
/// transaction, and <see cref="IIdentityBatch.Committed"/> publishes them once that transaction committed.
/// Profile numbers are the sequence of the event that created the profile, so a replay of the log gives the same numbers.
/// </summary>
public interface IIdentityResolver
{
    /// <summary>Loads the in-memory identifier map from the database (start-up, after a reset).</summary>
    void Load();

    /// <summary>A batch on the live graph.</summary>
    IIdentityBatch BeginBatch();

    /// <summary>
    /// Undo the merge record <paramref name="mergeId"/>. The live profile holding it is dissolved together with every
    /// profile that shares an event with it (its events, and the events that carried its identifiers but were refused),
    /// transitively, so that replaying <see cref="UnmergeBatch.Events"/> through <see cref="UnmergeBatch.Batch"/> gives
    /// what a full reprocess would. <paramref name="timelineOf"/> gives a live profile's event sequences.
    /// Null when there is no such merge record. The unmerge decision is stored by the batch's Write; a reprocess keeps it.
    /// </summary>
    UnmergeBatch? BeginUnmerge(string mergeId, DateTime at, Func<long, IReadOnlyList<long>> timelineOf);

    /// <summary>Deletes the identity graph (not the unmerge directives), inside the caller's transaction, before a reprocess.</summary>
    void Reset(IUnitOfWork tx);
}

public interface IIdentityBatch
{
    /// <summary>Resolves one event (the normalised Segment payload) to its profile; merges are applied to the staged graph.</summary>
    EventIdentity Resolve(LoggedEvent logged, JsonElement payload);

    /// <summary>
    /// Applies a new probabilistic link now (after event <paramref name="sequence"/>, the processor's checkpoint): the two
    /// live profiles merge into the older unless a merge rule refuses (different user_ids, limits, quarantine).
    /// </summary>
    LinkOutcome Link(ProfileLink link, long sequence, DateTime at);

    /// <summary>
    /// Replay (reprocess, unmerge): the stored links decided after an event up to <paramref name="through"/> that this replay has
    /// not applied yet, applied in their original order; returns the merges. Call before each event (with its sequence - 1) and after the last.
    /// </summary>
    IReadOnlyList<ProfileMerge> ReplayLinks(long through);

    void Write(IUnitOfWork tx);

    void Committed();
}

/// <summary>
/// An unmerge: <see cref="RootProfile"/> holds the merge; <see cref="LiveProfiles"/> are the live profiles dissolved with it,
/// <see cref="DissolvedProfiles"/> every profile number whose documents the replay replaces, <see cref="Events"/> the events to replay, in order.
/// </summary>
public sealed record UnmergeBatch(IIdentityBatch Batch, long RootProfile, IReadOnlyList<long> LiveProfiles, IReadOnlyList<long> DissolvedProfiles,
    IReadOnlyList<LoggedEvent> Events);

/// <summary>Which profile an event belongs to (0: it carries no usable identifier) and the merges it caused, in order.</summary>
public sealed record EventIdentity(long Profile, bool Created, IReadOnlyList<ProfileMerge> Merges)
{
    public static readonly EventIdentity Unattributed = new(0, false, []);
}

public sealed record ProfileMerge(string MergeId, long Winner, long Loser);
