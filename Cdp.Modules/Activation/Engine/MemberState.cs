using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Activation.Engine;

/// <summary>What the destination has of one profile, as far as the sync knows (its checkpoint).</summary>
/// <param name="Key">The identifier sent (email...).</param>
/// <param name="Hash">Hash of the identifier and the mapped fields last acknowledged (or attempted, when rejected).</param>
/// <param name="AtDestination">The destination acknowledged this member at least once (so a removal must be sent).</param>
/// <param name="Rejected">The last attempt was refused: retried next run.</param>
/// <param name="Erased">The person was deleted (privacy): the next run removes them at the destination, then the record goes.
/// Until then <see cref="Key"/> is the only thing kept of them: the destination is keyed by it.</param>
internal sealed record MemberRecord(string Key, long Hash, bool AtDestination, bool Rejected, string? Reason, bool Erased = false);

/// <summary>A state change of one batch, written only after the destination acknowledged the batch.</summary>
internal sealed record MemberCommit(string ProfileId, MemberRecord? Record);

/// <summary>
/// Per-sync member state (the sync's checkpoint of what its destination has), the members that left a sync after the
/// destination had them (so a privacy erasure still reaches the vendor), and small per-sync values a destination keeps.
/// </summary>
[Service]
internal sealed class MemberState(IActivationStore store)
{
    /// <summary>
    /// Privacy erasure, inside the caller's transaction: every record of the person goes (current members and departed ones);
    /// the addresses the destinations were sent are returned, by sync, for the deletion calls at the vendors, which replace the
    /// removal a next run would otherwise send. Returns the records removed too.
    /// </summary>
    public (long Records, List<(string Sync, string Key)> Sent) Erase(IUnitOfWork tx, IEnumerable<string> syncs, IReadOnlyCollection<string> profileIds) =>
        store.EraseMembers(tx, syncs, profileIds);

    /// <summary>Addresses a destination was sent for the person and that left the sync since (subject access export).</summary>
    public IEnumerable<(string Sync, string Key)> FindDeparted(IEnumerable<string> syncs, IReadOnlyCollection<string> profileIds) =>
        store.FindDeparted(syncs, profileIds);

    /// <summary>The person's records per sync, for a subject access export.</summary>
    public IEnumerable<(string Sync, MemberRecord Record)> Find(IEnumerable<string> syncs, IReadOnlyCollection<string> profileIds) =>
        store.FindMembers(syncs, profileIds);

    public Dictionary<string, MemberRecord> Load(string sync) => store.Members(sync);

    public (long Members, long Rejected) Count(string sync) => store.CountMembers(sync);

    /// <summary>One transaction per acknowledged batch: the batch is in the destination and in the checkpoint, or (after a crash) resent.</summary>
    public void Commit(string sync, IReadOnlyCollection<MemberCommit> commits)
    {
        if (commits.Count > 0) store.Commit(sync, commits);
    }

    public string? Remote(string sync, string name) => store.Remote(sync, name);

    public void SetRemote(string sync, string name, string value) => store.SetRemote(sync, name, value);
}
