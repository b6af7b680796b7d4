using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Memory;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using Cdp.Modules.Identity.Contracts;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// The profiles one batch touches, held in memory while its events are applied in sequence order; each changed
/// profile is written once, at the end, inside the batch's transaction. In unmerge mode the dissolved profiles are
/// deleted and rebuilt from scratch from their events.
/// </summary>
internal sealed class ProfileWork : IProfileWork
{
    private readonly IProfileStore _db; // reads only: the writes go through Write's transaction
    private readonly ProfilesOptions _options;
    private readonly ComputedTraits _computed;
    private readonly bool _rebuild;
    private readonly Dictionary<long, ProfileState> _profiles = new();
    private readonly HashSet<long> _dirty = new();
    private readonly HashSet<long> _deleted = new();
    private readonly Dictionary<long, (byte[] Sequences, byte[] Times)?> _chunks = new(); // chunk id -> its parts, null = delete
    private readonly Dictionary<long, List<ProfileEvent>> _events = new();
    private readonly Dictionary<long, long> _mergedInto = new();
    private readonly HashSet<long> _created = new();
    private readonly Dictionary<string, AccountState> _accounts = new(StringComparer.Ordinal);
    private readonly ProfileLimits _limits;
    private readonly SurvivorshipPolicy _survivorship;
    private readonly SkipSink _skips = new(); // values of this batch's events the profiles did not take

    private readonly BoundedCache<ProfileState>? _cache;

    public ProfileWork(IProfileStore db, ProfilesOptions options, ComputedTraits computed, BoundedCache<ProfileState>? cache, IReadOnlyList<long>? dissolve = null)
    {
        _db = db;
        _cache = cache;
        _options = options;
        _limits = options.Limits;
        _survivorship = options.Survivorship.Policy();
        _computed = computed;
        if (dissolve is null) return;
        _rebuild = true;
        foreach (var p in dissolve) _deleted.Add(p);
    }

    public void Apply(long profile, bool created, LoggedEvent e, JsonElement payload)
    {
        var p = Get(profile, created);
        var type = Str(payload, "type") ?? "track";
        var name = type switch { "track" => Str(payload, "event"), "page" or "screen" => Str(payload, "name"), _ => null };
        var timestamp = EventTime(e, payload);
        var ticks = timestamp.Ticks;
        _skips.Record = p.Skipped;
        _skips.Sequence = e.Sequence;

        if (timestamp < p.First) p.First = timestamp;
        if (timestamp > p.Last) p.Last = timestamp;
        p.Events++;
        Increment(p.TypeCounts, type, 1);
        if (type == "track" && name is not null)
        {
            var counted = name;
            if (TraitBudget.BadKey(name, _limits) is { } bad)
            {
                _skips.Add(SkippedValues.EventNames, $"event name: {bad}; counted as {ProfileSchema.OtherEvents}");
                counted = ProfileSchema.OtherEvents; // a counter key; the event keeps its name for segments and computed traits
            }
            Increment(p.EventCounts, p.EventCounts.ContainsKey(counted) || p.EventCounts.Count < _options.MaxEventNames ? counted : ProfileSchema.OtherEvents, 1);
        }
        Presence(p.Sources, e.Source, timestamp, timestamp, 1);

        if (payload.TryGetProperty("context", out var ctx) && ctx.ValueKind == JsonValueKind.Object
            && ctx.TryGetProperty("traits", out var ct) && ct.ValueKind == JsonValueKind.Object)
            TraitSet.Apply(p.Traits, p.TraitTimes, ct, ticks, p.Budget(_limits), _skips, Rules(p, e));
        if (type == "identify" && payload.TryGetProperty("traits", out var traits) && traits.ValueKind == JsonValueKind.Object)
            TraitSet.Apply(p.Traits, p.TraitTimes, traits, ticks, p.Budget(_limits), _skips, Rules(p, e));
        if (type == "group" && Str(payload, "groupId") is { } groupId && !p.Groups.Contains(groupId))
        {
            if (TraitBudget.BadKey(groupId, _limits) is { } bad) _skips.Add(SkippedValues.Groups, "groupId: " + bad);
            else if (p.Groups.Count >= _limits.MaxGroups) _skips.Add(SkippedValues.Groups, $"groupId \"{SkippedValues.Cut(groupId)}\": over {_limits.MaxGroups} groups (MaxGroups)");
            else p.Groups.Add(groupId);
        }
        ConsentSet.Apply(p.Consent, payload, _options.ConsentTraits, ticks, _limits, _skips, e.Source);
        if (_computed.Any)
        {
            var properties = payload.TryGetProperty(type is "identify" or "group" ? "traits" : "properties", out var props) ? props : default;
            _computed.Apply(p.Computed, type, name, properties, timestamp, _limits, _skips);
        }

        AppendTimeline(p, e.Sequence, ticks);
        (_events.TryGetValue(profile, out var list) ? list : _events[profile] = []).Add(new ProfileEvent(e.Sequence, type, name, timestamp, e.Source, e.Json));
        _dirty.Add(profile);
    }

    /// <summary>When an event happened: its timestamp (as Collection stored it, skew-corrected), else when it was received.</summary>
    public static DateTime EventTime(LoggedEvent e, JsonElement payload) =>
        payload.TryGetProperty("timestamp", out var ts) && ts.TryGetDateTime(out var t) ? t.ToUniversalTime() : e.ReceivedAt;

    /// <summary><see cref="EventTime(LoggedEvent, JsonElement)"/> of a logged event (its JSON parsed here).</summary>
    public static DateTime EventTime(LoggedEvent e)
    {
        try
        {
            using var doc = JsonDocument.Parse(e.Json);
            return EventTime(e, doc.RootElement);
        }
        catch (JsonException) { return e.ReceivedAt; } // the log holds validated JSON; kept for safety
    }

    /// <summary>Folds the loser into the winner: counters add up, traits by their survivorship rules, timelines interleave.</summary>
    public void Merge(long winner, long loser)
    {
        var w = Get(winner, false);
        var l = Get(loser, false);
        if (l.First < w.First) w.First = l.First;
        if (l.Last > w.Last) w.Last = l.Last;
        w.Events += l.Events;
        foreach (var (k, v) in l.TypeCounts) Increment(w.TypeCounts, k, v.AsInt64);
        foreach (var (k, v) in l.EventCounts)
            Increment(w.EventCounts, w.EventCounts.ContainsKey(k) || w.EventCounts.Count < _options.MaxEventNames ? k : ProfileSchema.OtherEvents, v.AsInt64);
        foreach (var (k, v) in l.Sources)
            Presence(w.Sources, k, v["f"].AsDateTime.ToUniversalTime(), v["l"].AsDateTime.ToUniversalTime(), v["n"].AsInt64);
        _skips.Record = w.Skipped;
        _skips.Sequence = 0; // what a merge drops has no event of its own (and a replay merges at other batch positions): sequence 0
        SkippedValues.Merge(w.Skipped, l.Skipped);
        TraitSet.Merge(w.Traits, w.TraitTimes, l.Traits, l.TraitTimes, w.Budget(_limits), _skips, _survivorship, w.Survivors, l.Survivors);
        _computed.Merge(w.Computed, l.Computed, _skips);
        foreach (var g in l.Groups)
        {
            if (w.Groups.Contains(g)) continue;
            if (w.Groups.Count < _limits.MaxGroups) w.Groups.Add(g);
            else _skips.Add(SkippedValues.Groups, $"merge: groupId \"{SkippedValues.Cut(g)}\": over {_limits.MaxGroups} groups (MaxGroups)");
        }
        ConsentSet.Merge(w.Consent, l.Consent, _limits, _skips);

        var all = MergeSorted(AllEntries(w), AllEntries(l));
        DeleteChunks(w);
        DeleteChunks(l);
        w.Recent = [];
        w.RecentTimes = [];
        foreach (var (s, t) in all) AppendTimeline(w, s, t);

        if (_events.Remove(loser, out var moved))
            (_events.TryGetValue(winner, out var list) ? list : _events[winner] = []).AddRange(moved);
        var tombstone = new ProfileState(loser) { Into = winner, IsNew = l.IsNew };
        _profiles[loser] = tombstone;
        _mergedInto[loser] = winner;
        _dirty.Add(winner);
        _dirty.Add(loser);
    }

    /// <summary>The survivorship context of an event on a profile; null when every trait is MostRecent (today's path, nothing stored).</summary>
    private TraitSet.Rules? Rules(ProfileState p, LoggedEvent e) =>
        _survivorship.Root is null ? null : new TraitSet.Rules(_survivorship, p.Survivors, new TraitOrigin(e.Sequence, e.Source));

    private ProfileState Get(long profile, bool created)
    {
        if (_profiles.TryGetValue(profile, out var p)) return p;
        if (created || _rebuild)
        {
            if (!created) throw new InvalidOperationException($"profile {profile} is not part of the unmerge replay");
            p = new ProfileState(profile) { IsNew = !_deleted.Contains(profile) };
            _created.Add(profile);
        }
        else if (_cache?.Take(profile) is not { } cached)
        {
            p = _db.Profile(profile) ?? throw new InvalidOperationException($"profile {profile} is missing");
            if (p.Into != 0) throw new InvalidOperationException($"profile {profile} was merged into {p.Into}");
        }
        else p = cached;
        _profiles[profile] = p;
        return p;
    }

    /// <summary>Appends an event (its sequence and event time) to the profile's timeline index, spilling a full part into a chunk.</summary>
    private void AppendTimeline(ProfileState p, long sequence, long ticks)
    {
        p.Recent.Add(sequence);
        p.RecentTimes.Add(ticks);
        if (p.Recent.Count < ProfileSchema.TimelineChunk || p.Chunks >= ProfileSchema.MaxChunks) return;
        _chunks[ProfileSchema.ChunkId(p.Profile, p.Chunks)] = (Varint.Encode(p.Recent), EventTimes.Encode(p.RecentTimes));
        p.Chunks++;
        p.Recent = [];
        p.RecentTimes = [];
    }

    /// <summary>The profile's timeline index (sequence, event time), ascending by sequence, staged chunks included.</summary>
    private List<(long Sequence, long Ticks)> AllEntries(ProfileState p)
    {
        var all = new List<(long, long)>((int)Math.Min(p.Events, 1_000_000));
        for (var c = 0; c < p.Chunks; c++)
        {
            var id = ProfileSchema.ChunkId(p.Profile, c);
            if (_chunks.TryGetValue(id, out var staged))
            {
                if (staged is { } part) all.AddRange(ProfileTimeline.Zip(Varint.Decode(part.Sequences), part.Times));
            }
            else if (_db.Chunk(p.Profile, c) is { } chunk) all.AddRange(ProfileTimeline.Entries(chunk));
        }
        all.AddRange(p.Recent.Zip(p.RecentTimes));
        return all;
    }

    private void DeleteChunks(ProfileState p)
    {
        for (var c = 0; c < p.Chunks; c++) _chunks[ProfileSchema.ChunkId(p.Profile, c)] = null;
        p.Chunks = 0;
    }

    private static List<(long Sequence, long Ticks)> MergeSorted(List<(long Sequence, long Ticks)> a, List<(long Sequence, long Ticks)> b)
    {
        var r = new List<(long, long)>(a.Count + b.Count);
        int i = 0, j = 0;
        while (i < a.Count || j < b.Count)
            r.Add(j >= b.Count || (i < a.Count && a[i].Sequence <= b[j].Sequence) ? a[i++] : b[j++]);
        return r;
    }

    /// <summary>
    /// A group call's traits go to the account whoever the caller turns out to be (even unattributed), so accounts do
    /// not depend on identity resolution and an unmerge replay leaves them alone.
    /// </summary>
    public void ApplyAccount(LoggedEvent e, JsonElement payload)
    {
        if (_rebuild || Str(payload, "type") != "group" || Str(payload, "groupId") is not { } groupId) return;
        if (!payload.TryGetProperty("traits", out var traits) || traits.ValueKind != JsonValueKind.Object) return;
        if (TraitBudget.BadKey(groupId, _limits) is not null) return; // counted on the profile (a group id is an index key: bounded)
        var timestamp = payload.TryGetProperty("timestamp", out var ts) && ts.TryGetDateTime(out var t) ? t.ToUniversalTime() : e.ReceivedAt;
        if (!_accounts.TryGetValue(groupId, out var account))
        {
            account = _db.Account(groupId, _limits) ?? AccountState.From(null, _limits);
            _accounts[groupId] = account;
        }
        _skips.Record = account.Skipped;
        _skips.Sequence = e.Sequence;
        TraitSet.Apply(account.Traits, account.Times, traits, timestamp.Ticks, account.Budget, _skips);
    }

    private static void Increment(TreeDocument counts, string key, long by) =>
        counts[key] = (counts.TryGetValue(key, out var v) ? v.AsInt64 : 0) + by;

    private static void Presence(TreeDocument sources, string source, DateTime first, DateTime last, long events)
    {
        if (sources.TryGetValue(source, out var v))
        {
            var s = v.AsDocument;
            if (first < s["f"].AsDateTime.ToUniversalTime()) s["f"] = first;
            if (last > s["l"].AsDateTime.ToUniversalTime()) s["l"] = last;
            s["n"] = s["n"].AsInt64 + events;
        }
        else sources[source] = new TreeDocument { ["f"] = first, ["l"] = last, ["n"] = events };
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>Inside the batch transaction.</summary>
    public void Write(IUnitOfWork tx)
    {
        var inserts = new List<ProfileState>();
        var updates = new List<ProfileState>();
        foreach (var id in _dirty)
        {
            var p = _profiles[id];
            (p.IsNew && !_rebuild ? inserts : updates).Add(p);
        }
        _db.Write(tx, new ProfileChanges
        {
            DeletedProfiles = _deleted.Where(p => !_dirty.Contains(p)).ToList(),
            ClearedTimelines = _deleted.ToList(),
            Chunks = _chunks.Select(c => (c.Key, c.Value is { } part ? new TimelinePart(part.Sequences, part.Times) : null)).ToList(),
            NewProfiles = inserts,
            ChangedProfiles = updates,
            Rebuild = _rebuild,
            Accounts = _accounts.Select(a => (a.Key, a.Value)).ToList(),
        });
    }

    /// <summary>After the commit: the written profiles become the cache's (taken ones stay out on failure, so the cache never holds uncommitted state).</summary>
    public void Committed()
    {
        _skips.Committed(_computed.SkipMetrics);
        if (_cache is null) return;
        foreach (var id in _dirty)
        {
            var p = _profiles[id];
            p.IsNew = false;
            if (p.Into == 0) _cache.Put(p.Profile, p);
        }
    }

    /// <summary>What changed, for the batch participants; <paramref name="now"/> evaluates the computed traits of the views.</summary>
    public IReadOnlyList<ProfileChange> Changes(DateTime now)
    {
        var changes = new List<ProfileChange>(_dirty.Count + _deleted.Count);
        foreach (var id in _dirty)
        {
            if (_mergedInto.TryGetValue(id, out var into))
            {
                changes.Add(new ProfileChange(ProfileIds.Format(id), ProfileChangeKind.MergedAway, [], ProfileIds.Format(FinalOf(into))));
                continue;
            }
            var kind = _created.Contains(id) ? ProfileChangeKind.Created : ProfileChangeKind.Updated;
            var state = _profiles[id];
            changes.Add(new ProfileChange(ProfileIds.Format(id), kind, _events.GetValueOrDefault(id) ?? [], null)
            {
                After = () => ProfileReader.View(state, _computed, now),
            });
        }
        foreach (var id in _deleted)
            if (!_dirty.Contains(id)) changes.Add(new ProfileChange(ProfileIds.Format(id), ProfileChangeKind.Removed, [], null));
        return changes;
    }

    private long FinalOf(long profile)
    {
        while (_mergedInto.TryGetValue(profile, out var next)) profile = next;
        return profile;
    }
}

/// <summary>An account (group) profile as a batch works on it: traits with timestamps, their budget, skipped values.</summary>
internal sealed class AccountState
{
    public TreeDocument Traits { get; private init; } = new();
    public TreeDocument Times { get; private init; } = new();
    public TreeDocument Skipped { get; private init; } = new();
    public required TraitBudget Budget { get; init; }

    public static AccountState From(TreeDocument? d, ProfileLimits limits)
    {
        var a = new AccountState
        {
            Budget = new TraitBudget(limits),
            Traits = d is not null && d["tr"].IsDocument ? d["tr"].AsDocument : new TreeDocument(),
            Times = d is not null && d["tt"].IsDocument ? d["tt"].AsDocument : new TreeDocument(),
            Skipped = d is not null && d["sk"].IsDocument ? d["sk"].AsDocument : new TreeDocument(),
        };
        if (d is not null && d["tk"].IsNumber && d["tb"].IsNumber) { a.Budget.Keys = d["tk"].AsInt32; a.Budget.Bytes = d["tb"].AsInt64; }
        else a.Budget.Recount(a.Traits, a.Times);
        return a;
    }

    public byte[] ToBytes() => TreeBson.Serialize(ToTree(""));

    public static AccountState FromBytes(byte[] bytes, ProfileLimits limits) => From(TreeBson.Deserialize(bytes), limits);

    public TreeDocument ToTree(string groupId)
    {
        var d = new TreeDocument { ["_id"] = groupId, ["tr"] = Traits, ["tt"] = Times, ["tk"] = Budget.Keys, ["tb"] = Budget.Bytes };
        if (Skipped.Count > 0) d["sk"] = Skipped;
        return d;
    }
}
