using System.Globalization;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Evaluation;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;

namespace Cdp.Modules.Segments.Membership.LiteDb;

/// <summary>
/// Segments in LiteDB. The lock is a document: every transaction that writes segment state upserts it FIRST, so LiteDB
/// holds that collection's write lock until the commit, and reads made after it see the latest commit (write snapshots
/// are created after the lock). Keys of definitions compare case-insensitively (LiteDB's collation).
/// </summary>
internal sealed class LiteSegmentStore(CdpDatabase db) : ISegmentStore
{
    internal static class Collections
    {
        public const string Definitions = "segment_defs";       // _id = key: { no, origin, name, description, where, created, updated, built }
        public const string Profiles = "segment_profiles";      // _id = profile number: { c: { counterId: { t, d: [day, n, ...] } }, m: [segment no] }
        public const string History = "segment_history";        // auto id: { s: segment no, k: key, p: profile number, in, at, cause }
        public const string State = "segment_state";            // "lock", "live": { at, n: { no: members }, sweep, built }, "counters": { id: retention }, "numbers": { next }

        public static string Members(int segmentNo) => "segment_members_" + segmentNo; // _id = profile id "p_123" (ordinal order), at
    }

    public const string LockId = "lock", LiveId = "live", CountersId = "counters", NumbersId = "numbers";

    public ISegmentWrites Lock(IUnitOfWork tx, DateTime now)
    {
        var d = tx.Lite();
        d.GetCollection(Collections.State).Upsert(new BsonDocument { ["_id"] = LockId, ["at"] = now });
        return new Writes(d);
    }

    public void Prepare() => db.InTransaction(d =>
    {
        var history = d.GetCollection(Collections.History, BsonAutoId.Int64);
        history.EnsureIndex("s");
        history.EnsureIndex("p");
    });

    public SegmentLive Live() => SegmentBson.Live(db.Collection(Collections.State).FindById(LiveId));

    public IReadOnlyDictionary<string, int> KeptCounters() => SegmentBson.Kept(db.Collection(Collections.State).FindById(CountersId));

    public ProfileSegmentState? State(long profile) => db.Collection(Collections.Profiles).ById(profile) is { } d ? SegmentBson.State(d) : null;

    public Dictionary<long, ProfileSegmentState> States(long first, long last) =>
        db.Collection(Collections.Profiles).Find(Filter.Between("_id", first, last)).Select(SegmentBson.State).ToDictionary(s => s.Profile);

    public List<string> MemberPage(int segmentNo, string after, int limit) =>
        db.Collection(Collections.Members(segmentNo)).Find(Filter.GT("_id", after), limit: limit).Select(d => d["_id"].AsString).ToList();

    public DateTime? MemberSince(int segmentNo, string profileId) =>
        db.Collection(Collections.Members(segmentNo)).FindById(profileId) is { } m ? m["at"].AsDateTime.ToUniversalTime() : null;

    public IEnumerable<(string Profile, DateTime At)> Members(int segmentNo) =>
        db.Collection(Collections.Members(segmentNo)).FindAll().Select(m => (m["_id"].AsString, m["at"].AsDateTime.ToUniversalTime()));

    public List<SegmentDefinition> Definitions() => db.Collection(Collections.Definitions).FindAll().Select(SegmentBson.Definition).ToList();

    public int? StoredNextNumber() => db.Collection(Collections.State).FindById(NumbersId) is { } doc ? doc["next"].AsInt32 : null;

    public List<MembershipEntry> History(int? segmentNo, long? profile, long? before, int take)
    {
        var query = db.Collection(Collections.History).Query();
        if (segmentNo is { } s) query = query.Where(Filter.EQ("s", s));
        if (profile is { } p) query = query.Where(Filter.EQ("p", p));
        if (before is { } b) query = query.Where(Filter.LT("_id", b));
        return query.OrderByDescending("_id").Limit(take).ToList().Select(SegmentBson.Entry).ToList();
    }

    public List<MembershipEntry> HistoryOf(IReadOnlyCollection<long> profiles) => profiles.Count == 0 ? [] :
        db.Collection(Collections.History).Find(Filter.In("p", profiles.Select(p => new BsonValue(p)))).Select(SegmentBson.Entry).OrderBy(e => e.Id).ToList();

    private sealed class Writes(LiteDatabase d) : ISegmentWrites
    {
        private readonly ILiteCollection<BsonDocument> _profiles = d.GetCollection(Collections.Profiles);
        private ILiteCollection<BsonDocument>? _history;

        private ILiteCollection<BsonDocument> Definitions_ => d.GetCollection(Collections.Definitions);

        private ILiteCollection<BsonDocument> StateCollection => d.GetCollection(Collections.State);

        public List<SegmentDefinition> Definitions() => Definitions_.FindAll().Select(SegmentBson.Definition).ToList();

        public SegmentDefinition? Definition(string key) => Definitions_.FindById(key) is { } doc ? SegmentBson.Definition(doc) : null;

        public void PutDefinition(SegmentDefinition definition)
        {
            var defs = Definitions_;
            if (defs.FindById(definition.Key) is { } existing && existing["_id"].AsString != definition.Key) defs.Delete(existing["_id"]);
            defs.Upsert(SegmentBson.ToBson(definition));
        }

        public void DeleteDefinition(string key) => Definitions_.Delete(key);

        public int NextNumber()
        {
            var state = StateCollection;
            var doc = state.FindById(NumbersId) ?? new BsonDocument { ["_id"] = NumbersId, ["next"] = 1 };
            var next = Math.Max(doc["next"].AsInt32, Definitions_.FindAll().Select(x => x["no"].AsInt32).DefaultIfEmpty(0).Max() + 1);
            doc["next"] = next + 1;
            state.Upsert(doc);
            return next;
        }

        public void SetNextNumber(int next) => StateCollection.Upsert(new BsonDocument { ["_id"] = NumbersId, ["next"] = next });

        public void ImportHistory(IReadOnlyList<MembershipEntry> entries) =>
            History.Insert(entries.Select(e => { var doc = HistoryDocument(e); doc["_id"] = e.Id; return doc; }));

        public SegmentLive Live() => SegmentBson.Live(StateCollection.ById(LiveId));

        public void SaveLive(SegmentLive live) => StateCollection.Upsert(SegmentBson.ToBson(live));

        public IReadOnlyDictionary<string, int> KeptCounters() => SegmentBson.Kept(StateCollection.FindById(CountersId));

        public void SaveKeptCounters(IReadOnlyDictionary<string, int> kept)
        {
            var doc = new BsonDocument { ["_id"] = CountersId };
            foreach (var (id, days) in kept) doc[id] = days;
            StateCollection.Upsert(doc);
        }

        /// <summary>Only the _id: LiteDB answers this from the index without reading the documents.</summary>
        public IEnumerable<long> StateIds() =>
            _profiles.Query().Select("{ _id: $._id }").ToEnumerable().Where(x => x["_id"].IsInt64 || x["_id"].IsInt32).Select(x => x["_id"].AsInt64).ToList();

        public ProfileSegmentState? State(long profile) => _profiles.ById(profile) is { } doc ? SegmentBson.State(doc) : null;

        public Dictionary<long, ProfileSegmentState> States(long first, long last) =>
            _profiles.Find(Filter.Between("_id", first, last)).Select(SegmentBson.State).ToDictionary(s => s.Profile);

        public void SaveState(ProfileSegmentState state) => _profiles.Upsert(SegmentBson.ToBson(state));

        public void DeleteState(long profile) => _profiles.Delete(profile);

        public void AddMember(int segmentNo, string profileId, DateTime at) =>
            d.GetCollection(Collections.Members(segmentNo)).Upsert(new BsonDocument { ["_id"] = profileId, ["at"] = at });

        public bool RemoveMember(int segmentNo, string profileId) => d.GetCollection(Collections.Members(segmentNo)).Delete(profileId);

        public void ClearMembers(int segmentNo) => d.GetCollection(Collections.Members(segmentNo)).DeleteAll();

        public void AppendHistory(MembershipEntry e) => History.Insert(HistoryDocument(e));

        private ILiteCollection<BsonDocument> History => _history ??= d.GetCollection(Collections.History, BsonAutoId.Int64);

        /// <summary>An entry's document; without an _id the collection numbers it (an import keeps its id).</summary>
        private static BsonDocument HistoryDocument(MembershipEntry e) => new()
        {
            ["s"] = e.Segment, ["k"] = e.Key, ["p"] = e.Profile, ["in"] = e.Entered, ["at"] = e.At, ["cause"] = e.Cause,
        };

        /// <summary>The history has no index on the profile (it would cost on every entry/exit): a scan, fine for a rare admin action.</summary>
        public long DeleteHistoryOf(IReadOnlyCollection<long> profiles) => profiles.Count == 0 ? 0 :
            d.GetCollection(Collections.History).DeleteMany(Filter.In("p", profiles.Select(p => new BsonValue(p))));

        public void Reset(IEnumerable<int> segmentNos)
        {
            _profiles.DeleteAll();
            d.GetCollection(Collections.History).DeleteAll();
            StateCollection.Delete(LiveId);
            foreach (var no in segmentNos) ClearMembers(no);
        }
    }
}

/// <summary>Segments' LiteDB documents (field names as they have always been stored).</summary>
internal static class SegmentBson
{
    public static BsonDocument ToBson(ProfileSegmentState s)
    {
        var c = new BsonDocument();
        foreach (var (id, counter) in s.Counters)
        {
            var flat = new BsonArray();
            foreach (var (day, count) in counter.Days) { flat.Add(day); flat.Add(count); }
            c[id] = new BsonDocument { ["t"] = counter.Total, ["d"] = flat };
        }
        return new BsonDocument { ["_id"] = s.Profile, ["c"] = c, ["m"] = new BsonArray(s.Members.Order().Select(m => new BsonValue(m))) };
    }

    public static ProfileSegmentState State(BsonDocument d)
    {
        var s = new ProfileSegmentState(d["_id"].AsInt64) { Stored = true };
        foreach (var (id, v) in d["c"].AsDocument)
        {
            var flat = v["d"].AsArray;
            var days = new List<(int, long)>(flat.Count / 2);
            for (var i = 0; i + 1 < flat.Count; i += 2) days.Add((flat[i].AsInt32, flat[i + 1].AsInt64));
            s.Counters[id] = EventCounter.Of(v["t"].AsInt64, days);
        }
        foreach (var m in d["m"].AsArray) s.Members.Add(m.AsInt32);
        return s;
    }

    public static BsonDocument ToBson(SegmentDefinition x) => new()
    {
        ["_id"] = x.Key, ["no"] = x.No, ["origin"] = x.Origin.ToString(), ["name"] = x.Name, ["description"] = x.Description,
        ["where"] = x.Where, ["created"] = x.Created, ["updated"] = x.Updated, ["built"] = x.Built,
    };

    public static SegmentDefinition Definition(BsonDocument d) => new(d["_id"].AsString, d["no"].AsInt32, Enum.Parse<SegmentOrigin>(d["origin"].AsString),
        d["name"].AsString, d["description"].IsNull ? null : d["description"].AsString, d["where"].AsString,
        d["created"].AsDateTime.ToUniversalTime(), d["updated"].AsDateTime.ToUniversalTime(), d["built"].AsBoolean);

    public static SegmentLive Live(BsonDocument? d)
    {
        var live = new SegmentLive();
        if (d is null) return live;
        if (d.TryGetValue("n", out var n) && n.IsDocument)
            foreach (var (no, count) in n.AsDocument)
                if (int.TryParse(no, NumberStyles.None, CultureInfo.InvariantCulture, out var segment)) live.Counts[segment] = count.AsInt64;
        foreach (var field in new[] { SegmentLive.RealTime, SegmentLive.Sweep, SegmentLive.Built })
            if (d.TryGetValue(field, out var at) && at.IsDateTime) live.Times[field] = at.AsDateTime.ToUniversalTime();
        return live;
    }

    public static BsonDocument ToBson(SegmentLive live)
    {
        var n = new BsonDocument();
        foreach (var (no, count) in live.Counts) n[no.ToString(CultureInfo.InvariantCulture)] = count;
        var d = new BsonDocument { ["_id"] = LiteSegmentStore.LiveId, ["n"] = n };
        foreach (var (field, at) in live.Times) d[field] = at;
        return d;
    }

    public static IReadOnlyDictionary<string, int> Kept(BsonDocument? d) =>
        d is null ? new Dictionary<string, int>() : d.Where(p => p.Key != "_id" && p.Value.IsNumber).ToDictionary(p => p.Key, p => p.Value.AsInt32, StringComparer.Ordinal);

    public static MembershipEntry Entry(BsonDocument e) => new(e["_id"].AsInt64, e["s"].AsInt32, e["k"].AsString, e["p"].AsInt64, e["in"].AsBoolean,
        e["at"].AsDateTime.ToUniversalTime(), e["cause"].AsString);
}
