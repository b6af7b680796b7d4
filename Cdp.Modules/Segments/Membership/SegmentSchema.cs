using Cdp.Modules.Segments.Evaluation;
using LiteDB;

namespace Cdp.Modules.Segments.Membership;

/// <summary>How segments sit in LiteDB.</summary>
internal static class SegmentSchema
{
    public const string Definitions = "segment_defs";       // _id = key: { no, origin, name, description, where, created, updated, built }
    public const string Profiles = "segment_profiles";      // _id = profile number: { c: { counterId: { t, d: [day, n, ...] } }, m: [segment no] }
    public const string History = "segment_history";        // auto id: { s: segment no, k: key, p: profile number, in, at, cause }
    public const string State = "segment_state";            // "lock", "live": { at, n: { no: members }, sweep: {...} }, "counters": { id: retention }

    public static string Members(int segmentNo) => "segment_members_" + segmentNo; // _id = profile id "p_123" (ordinal order), at

    public const string LockId = "lock";
    public const string LiveId = "live";
    public const string CountersId = "counters";

    /// <summary>
    /// Invariant: every transaction that writes segment state writes this document FIRST. LiteDB then holds the
    /// collection's write lock until commit, so the processor's batches, sweeps and API edits never interleave on
    /// segment state, and reads made after it see the latest commit (write snapshots are created after the lock).
    /// </summary>
    public static void Lock(LiteDatabase db, DateTime now) =>
        db.GetCollection(State).Upsert(new BsonDocument { ["_id"] = LockId, ["at"] = now });
}

/// <summary>One profile's segment state: its event counters and the segments it is in.</summary>
internal sealed class ProfileSegmentState(long profile)
{
    public long Profile { get; } = profile;
    public Dictionary<string, EventCounter> Counters { get; } = new(StringComparer.Ordinal);
    public HashSet<int> Members { get; } = [];
    public bool Stored { get; set; }
    public bool Dirty { get; set; }

    public EventCounter Counter(string id)
    {
        if (!Counters.TryGetValue(id, out var c)) Counters[id] = c = new EventCounter();
        return c;
    }

    public bool IsEmpty => Counters.Count == 0 && Members.Count == 0;

    public BsonDocument ToBson()
    {
        var c = new BsonDocument();
        foreach (var (id, counter) in Counters) c[id] = counter.ToBson();
        return new BsonDocument { ["_id"] = Profile, ["c"] = c, ["m"] = new BsonArray(Members.Order().Select(m => new BsonValue(m))) };
    }

    public static ProfileSegmentState FromBson(BsonDocument d)
    {
        var s = new ProfileSegmentState(d["_id"].AsInt64) { Stored = true };
        foreach (var (id, v) in d["c"].AsDocument) s.Counters[id] = EventCounter.FromBson(v.AsDocument);
        foreach (var m in d["m"].AsArray) s.Members.Add(m.AsInt32);
        return s;
    }
}
