using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Shared.Memory;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Options;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Modules.Segments.Membership;

/// <summary>
/// Real-time membership: called by the profile processor inside each batch's transaction. Per changed profile it adds
/// the batch's events to the day counters the segments use (no timeline scan), folds merged-away profiles' counters
/// into the survivor, recounts from scratch on an unmerge, re-evaluates the segments and records entries and exits.
/// The states it wrote stay in memory once their batch committed (Cdp:SegmentEvaluation:CachedStates), the way the
/// processor keeps profiles: a batch takes a state out while it changes it, so the cache never holds uncommitted
/// state; a sweep, a build or an erasure (<see cref="StoredSegmentStates.OtherWriter"/>) empties it.
/// </summary>
[Service]
internal sealed class SegmentParticipant(ISegmentStore store, SegmentCatalogue catalogue, IProfileReader profiles, TimeProvider clock, StoredSegmentStates stored,
    IOptions<SegmentEvaluationOptions> options) : IProfileBatchParticipant
{
    private readonly BoundedCache<ProfileSegmentState> _cache = new(options.Value.CachedStates);
    private readonly List<ProfileSegmentState> _written = [];
    private long _otherWritesSeen;

    public void OnBatch(ProfileBatch batch, IUnitOfWork tx)
    {
        _written.Clear(); // a batch that rolled back never got Committed: what it wrote is not the stored state
        var now = clock.GetUtcNow().UtcDateTime;
        var db = store.Lock(tx, now); // before reading the definitions: a build marks segments built under this lock
        if (stored.OtherWrites != _otherWritesSeen)
        {
            _cache.Clear();
            _otherWritesSeen = stored.OtherWrites;
        }
        var set = catalogue.EnsureLoaded(db);
        if (set.Ordered.Count == 0) return;
        var write = new MembershipWrite(db, set, now, stored);
        var absorbed = new Dictionary<long, List<ProfileSegmentState>>();
        foreach (var change in batch.Changes)
        {
            if (change.Kind is not (ProfileChangeKind.MergedAway or ProfileChangeKind.Removed) || !ProfileIds.TryParse(change.ProfileId, out var no)) continue;
            var state = Load(write, no);
            if (change.Kind == ProfileChangeKind.MergedAway && batch.Kind == ProfileBatchKind.Events && ProfileIds.TryParse(change.MergedInto, out var into))
                (absorbed.TryGetValue(into, out var list) ? list : absorbed[into] = []).Add(state);
            write.ExitAll(state, change.Kind == ProfileChangeKind.MergedAway ? $"merged into {change.MergedInto}" : "removed by an unmerge");
            write.Delete(no);
        }
        foreach (var change in batch.Changes)
        {
            if (change.Kind is not (ProfileChangeKind.Created or ProfileChangeKind.Updated) || !ProfileIds.TryParse(change.ProfileId, out var no)) continue;
            // a profile created by this batch's events has no segment state yet: no read (an unmerge re-creates old numbers)
            var state = change.Kind == ProfileChangeKind.Created && batch.Kind == ProfileBatchKind.Events ? new ProfileSegmentState(no) : Load(write, no);
            string cause;
            if (batch.Kind == ProfileBatchKind.Unmerge)
            {
                state.Counters.Clear(); // the change carries all the profile's events: recount
                state.Dirty = true;
                cause = "unmerge (recomputed from its events)";
            }
            else if (absorbed.TryGetValue(no, out var losers))
            {
                foreach (var loser in losers)
                foreach (var (id, counter) in loser.Counters)
                    state.Counter(id).AddAll(counter);
                state.Dirty = true;
                cause = "merge of " + string.Join(", ", losers.Select(l => ProfileIds.Format(l.Profile)));
            }
            else cause = change.Events.Count > 0 ? Describe(change.Events[^1]) : "profile change";
            write.Count(state, change.Events);
            var view = !set.ReadsProfile ? null : change.After is { } after ? after() : profiles.Get(change.ProfileId);
            write.Evaluate(state, view, s => s.Built || (catalogue.BuildProgress.TryGetValue(s.No, out var upTo) && no <= upTo), cause);
            write.Save(state);
            _written.Add(state);
        }
        write.Finish(SegmentLive.RealTime);
    }

    public void Committed(ProfileBatch batch)
    {
        foreach (var state in _written) _cache.Put(state.Profile, state);
        _written.Clear();
    }

    private ProfileSegmentState Load(MembershipWrite write, long profile) => _cache.Take(profile) ?? write.Load(profile);

    public void OnReset(IUnitOfWork tx)
    {
        _cache.Clear();
        _written.Clear();
        var db = store.Lock(tx, clock.GetUtcNow().UtcDateTime);
        var set = catalogue.EnsureLoaded(db);
        db.Reset(set.Ordered.Select(s => s.No));
    }

    private static string Describe(ProfileEvent e) =>
        $"event {e.Sequence} ({e.Type}{(e.Name is null ? "" : " \"" + e.Name + "\"")})";
}
