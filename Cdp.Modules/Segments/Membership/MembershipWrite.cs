using System.Globalization;
using System.Text.Json;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Evaluation;
using Cdp.Modules.Shared.Storage;
using LiteDB;
using Cdp.Modules.Identity.Contracts;

namespace Cdp.Modules.Segments.Membership;

/// <summary>
/// The segment writes of one transaction (a processor batch, a page of a sweep or build): takes the segment lock,
/// loads and saves profile states, records entries and exits in the member collections and the history, and keeps
/// the member counts. Used on one thread inside one LiteDB transaction.
/// </summary>
internal sealed class MembershipWrite
{
    private readonly LiteDatabase _db;
    private readonly BsonDocument _live;
    private readonly BsonDocument _counts;
    private readonly ILiteCollection<BsonDocument> _profiles;
    private readonly ILiteCollection<BsonDocument> _history;
    private readonly StoredSegmentStates _stored;

    public MembershipWrite(LiteDatabase db, SegmentSet set, DateTime now, StoredSegmentStates stored)
    {
        _db = db;
        _stored = stored;
        Set = set;
        Now = now;
        Today = Days.Of(now);
        SegmentSchema.Lock(db, now); // first: see SegmentSchema.Lock
        var state = db.GetCollection(SegmentSchema.State);
        _live = state.ById(SegmentSchema.LiveId) ?? new BsonDocument { ["_id"] = SegmentSchema.LiveId };
        _counts = _live.TryGetValue("n", out var n) ? n.AsDocument : (BsonDocument)(_live["n"] = new BsonDocument());
        _profiles = db.GetCollection(SegmentSchema.Profiles);
        _history = db.GetCollection(SegmentSchema.History, BsonAutoId.Int64);
        stored.EnsureLoaded(db);
    }

    public SegmentSet Set { get; }

    public DateTime Now { get; }

    public int Today { get; }

    public int Changes { get; private set; }

    public BsonDocument Live => _live;

    public ProfileSegmentState Load(long profile) =>
        _stored.MayExist(profile) && _profiles.ById(profile) is { } d ? ProfileSegmentState.FromBson(d) : new ProfileSegmentState(profile);

    /// <summary>States of the profiles numbered first..last that have one.</summary>
    public Dictionary<long, ProfileSegmentState> LoadRange(long first, long last) =>
        _profiles.Find(Filter.Between("_id", first, last)).Select(ProfileSegmentState.FromBson).ToDictionary(s => s.Profile);

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
            if (s.Stored) _profiles.Delete(s.Profile);
        }
        else
        {
            _stored.Add(s.Profile);
            _profiles.Upsert(s.ToBson());
        }
        s.Stored = !s.IsEmpty;
        s.Dirty = false;
    }

    public void Delete(long profile) => _profiles.Delete(profile);

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
        var members = _db.GetCollection(SegmentSchema.Members(segment.No));
        if (member)
        {
            s.Members.Add(segment.No);
            members.Upsert(new BsonDocument { ["_id"] = id, ["at"] = Now });
        }
        else
        {
            s.Members.Remove(segment.No);
            members.Delete(id);
        }
        var key = segment.No.ToString(CultureInfo.InvariantCulture);
        _counts[key] = Math.Max(0, (_counts.TryGetValue(key, out var n) ? n.AsInt64 : 0) + (member ? 1 : -1));
        _history.Insert(new BsonDocument
        {
            ["s"] = segment.No, ["k"] = segment.Key, ["p"] = s.Profile, ["in"] = member, ["at"] = Now, ["cause"] = cause,
        });
        s.Dirty = true;
        Changes++;
    }

    /// <summary>Writes the member counts and when this evaluation happened (<paramref name="field"/>: "at" for real time).</summary>
    public void Finish(string field)
    {
        _live[field] = Now;
        _db.GetCollection(SegmentSchema.State).Upsert(_live);
    }
}
