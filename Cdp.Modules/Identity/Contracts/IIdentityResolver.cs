using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using LiteDB;

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
    /// Undo the merge record <paramref name="mergeId"/>: returns a batch in which the live profile holding it is
    /// dissolved (its identifiers released) and that must be fed that profile's events again, in sequence order.
    /// Null when there is no such merge record. The unmerge directive is stored by the batch's Write and is kept
    /// by a reprocess.
    /// </summary>
    UnmergeBatch? BeginUnmerge(string mergeId, DateTime at);

    /// <summary>Deletes the identity graph (not the unmerge directives), inside the caller's transaction, before a reprocess.</summary>
    void Reset(LiteDatabase db);
}

public interface IIdentityBatch
{
    /// <summary>Resolves one event (the normalised Segment payload) to its profile; merges are applied to the staged graph.</summary>
    EventIdentity Resolve(LoggedEvent logged, JsonElement payload);

    void Write(LiteDatabase db);

    void Committed();
}

/// <summary>The live profile dissolved by an unmerge, and the profile numbers whose documents it replaced.</summary>
public sealed record UnmergeBatch(IIdentityBatch Batch, long RootProfile, IReadOnlyList<long> DissolvedProfiles);

/// <summary>Which profile an event belongs to (0: it carries no usable identifier) and the merges it caused, in order.</summary>
public sealed record EventIdentity(long Profile, bool Created, IReadOnlyList<ProfileMerge> Merges)
{
    public static readonly EventIdentity Unattributed = new(0, false, []);
}

public sealed record ProfileMerge(string MergeId, long Winner, long Loser);
