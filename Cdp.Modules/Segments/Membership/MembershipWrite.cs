using System.Text.Json;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Evaluation;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Identity.Contracts;

namespace Cdp.Modules.Segments.Membership;

/// <summary>
/// The segment writes of one transaction (a processor batch, a page of a sweep or build): takes the segment lock,
/// loads and saves profile states, records entries and exits in the member collections and the history, and keeps
/// the member counts. Used on one thread inside one transaction.
/// </summary>
internal sealed class MembershipWrite
{
    private readonly ISegmentWrites _store;
    private readonly SegmentLive _live;
    private readonly StoredSegmentStates _stored;

    /// <summary><paramref name="store"/>: the segment lock was taken (ISegmentStore.Lock) in this transaction.</summary>
    public MembershipWrite(ISegmentWrites store, SegmentSet set, DateTime now, StoredSegmentStates stored)
    {
        _store = store;
        _stored = stored;
        Set = set;
        Now = now;
        Today = Days.Of(now);
        _live = store.Live();
        stored.EnsureLoaded(store);
    }

    public SegmentSet Set { get; }

    public DateTime Now { get; }

    public int Today { get; }

    public int Changes { get; private set; }

    public SegmentLive Live => _live;

    public ProfileSegmentState Load(long profile) =>
        _stored.MayExist(profile) && _store.State(profile) is { } s ? s : new ProfileSegmentState(profile);

    /// <summary>States of the profiles numbered first..last that have one.</summary>
    public Dictionary<long, ProfileSegmentState> LoadRange(long first, long last) =>
        _store.States(first, last);

    public void Save(ProfileSegmentState s)
    {
        if (!s.Dirty) return;
        foreach (var id in s.Counters.Keys.ToList())
        {
            if (Set.CountersById.TryGetValue(id, out var spec)) s.Counters[id].Trim(Today - spec.RetentionDays);
            else s.Counters.Remove(id); // no segment counts it any more
        }
        if (s.IsEmpty)
        {
            if (s.Stored) _store.DeleteState(s.Profile);
        }
        else
        {
            _stored.Add(s.Profile);
            _store.SaveState(s);
        }
        s.Stored = !s.IsEmpty;
        s.Dirty = false;
    }

    public void Delete(long profile) => _store.DeleteState(profile);

    /// <summary>Adds the profile's events to the counters the segments use (payloads parsed only for filtered conditions).</summary>
    public void Count(ProfileSegmentState s, IEnumerable<ProfileEvent> events, IReadOnlyList<CounterSpec>? only = null)
    {
        if (CountInto(s, events, only ?? Set.Counters, Today)) s.Dirty = true;
    }

    /// <summary>Adds matching events to <paramref name="s"/>'s counters; true when any counter changed.</summary>
    public static bool CountInto(ProfileSegmentState s, IEnumerable<ProfileEvent> events, IReadOnlyList<CounterSpec> specs, int today)
    {
        if (specs.Count == 0) return false;
        var changed = false;
        foreach (var e in events)
        {
            JsonDocument? payload = null;
            try
            {
                foreach (var spec in specs)
                {
                    var condition = spec.Condition;
                    if (!condition.Selector.Matches(e.Type, e.Name)) continue;
                    if (condition.Filter is not null)
                    {
                        if (e.Payload.IsEmpty) continue;
                        payload ??= JsonDocument.Parse(e.Payload);
                        if (!ConditionEvaluator.Filter(condition.Filter, payload.RootElement, today)) continue;
                    }
                    s.Counter(spec.Id).Add(Days.Of(e.Timestamp));
                    changed = true;
                }
            }
            finally
            {
                payload?.Dispose();
            }
        }
        return changed;
    }

    /// <summary>
    /// Re-evaluates <paramref name="targets"/> (null = every segment) for one profile, dependencies first, and records
    /// every entry and exit. <paramref name="profile"/> is null when no segment reads traits.
    /// </summary>
    public void Evaluate(ProfileSegmentState s, ProfileView? profile, Func<CompiledSegment, bool>? targets, string cause)
    {
        var input = Input(s, profile);
        foreach (var segment in Set.Ordered)
        {
            if (targets is not null && !targets(segment)) continue;
            var member = segment.Problem is null && ConditionEvaluator.Evaluate(segment.Condition, input);
            Apply(s, segment, member, cause);
        }
        foreach (var stale in s.Members.Where(m => !Set.ByNo.ContainsKey(m)).ToList())
        {
            s.Members.Remove(stale); // the segment was deleted: its members collection went with it
            s.Dirty = true;
        }
    }

    public EvaluationInput Input(ProfileSegmentState s, ProfileView? profile) => new()
    {
        Traits = profile?.Traits ?? EmptyObject,
        Computed = profile?.ComputedTraits ?? EmptyObject,
        Counters = s.Counters,
        InSegment = key => Set.ByKey.TryGetValue(key, out var d) && s.Members.Contains(d.No),
        Today = Today,
    };

    public static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement;

    /// <summary>Exits every segment (profile merged away or removed).</summary>
    public void ExitAll(ProfileSegmentState s, string cause)
    {
        foreach (var no in s.Members.ToList())
        {
            if (Set.ByNo.TryGetValue(no, out var segment)) Apply(s, segment, false, cause);
            else s.Members.Remove(no);
        }
        s.Dirty = true;
    }

    private void Apply(ProfileSegmentState s, CompiledSegment segment, bool member, string cause)
    {
        if (s.Members.Contains(segment.No) == member) return;
        var id = ProfileIds.Format(s.Profile);
        if (member)
        {
            s.Members.Add(segment.No);
            _store.AddMember(segment.No, id, Now);
        }
        else
        {
            s.Members.Remove(segment.No);
            _store.RemoveMember(segment.No, id);
        }
        _live.Counts[segment.No] = Math.Max(0, _live.Count(segment.No) + (member ? 1 : -1));
        _store.AppendHistory(new MembershipEntry(0, segment.No, segment.Key, s.Profile, member, Now, cause));
        s.Dirty = true;
        Changes++;
    }

    /// <summary>Writes the member counts and when this evaluation happened (<paramref name="field"/>: "at" for real time).</summary>
    public void Finish(string field)
    {
        _live.Times[field] = Now;
        _store.SaveLive(_live);
    }
}
