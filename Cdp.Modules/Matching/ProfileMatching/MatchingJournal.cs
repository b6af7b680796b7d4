using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Modules.Matching.ProfileMatching;

/// <summary>
/// Which profiles changed since the last matching run, written in each processor batch's own transaction (so it is
/// exact after a crash); a run reads the journal first and, once it succeeded, forgets what it read
/// (<see cref="IMatchingStore.ReadJournal"/>).
/// </summary>
[Service]
internal sealed class MatchingJournal(IMatchingStore store) : IProfileBatchParticipant
{
    public void OnBatch(ProfileBatch batch, IUnitOfWork tx)
    {
        var changed = new List<long>(batch.Changes.Count);
        foreach (var c in batch.Changes)
            if (c.Kind is ProfileChangeKind.Created or ProfileChangeKind.Updated && ProfileIds.TryParse(c.ProfileId, out var no)) changed.Add(no);
        if (changed.Count == 0) return;
        changed.Sort();
        store.Journal(tx, changed.Distinct().ToList());
    }

    /// <summary>A reprocess recreates every profile, and so journals every profile again.</summary>
    public void OnReset(IUnitOfWork tx) => store.ResetJournal(tx);
}
