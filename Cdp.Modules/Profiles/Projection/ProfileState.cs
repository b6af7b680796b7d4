using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>The shape of a profile's timeline index: its newest part inline, full parts spilled into chunks (IProfileStore).</summary>
internal static class ProfileSchema
{
    /// <summary>Sequences kept inline in the profile document before a chunk is spilled; ~3 bytes each (varint deltas).</summary>
    public const int TimelineChunk = 256;

    /// <summary>Chunk numbers per profile (16 bits of the chunk _id): 65,535 chunks x 256 = 16.7M events per profile.</summary>
    public const int MaxChunks = 0xFFFF;

    public const string OtherEvents = "(other)";

    public static long ChunkId(long profile, int chunk) => (profile << 16) | (uint)chunk;
}

/// <summary>
/// One person's profile, as the processor works on it. Its traits, counters and computed-trait state are the profile
/// value tree (<see cref="TreeDocument"/>): the LiteDB store keeps the record as a document of the same fields
/// (<see cref="ToTree"/>), PostgreSQL as its BSON bytes (<see cref="ToBytes"/>).
/// </summary>
internal sealed class ProfileState(long profile)
{
    public long Profile { get; } = profile;
    public long Into { get; set; }
    public DateTime First { get; set; } = DateTime.MaxValue;
    public DateTime Last { get; set; } = DateTime.MinValue;
    public long Events { get; set; }
    public TreeDocument Sources { get; set; } = new();     // name -> { f, l, n }
    public TreeDocument TypeCounts { get; set; } = new();  // track/page/... -> n
    public TreeDocument EventCounts { get; set; } = new(); // track event name -> n
    public TreeDocument Traits { get; set; } = new();
    public TreeDocument TraitTimes { get; set; } = new();  // same shape as Traits, leaves are timestamp ticks
    public TreeDocument Survivors { get; set; } = new();   // survivorship candidates of ruled traits, same shape, leaves are arrays (TraitCandidate)
    public TreeDocument Computed { get; set; } = new();    // trait name -> state
    public List<string> Groups { get; set; } = [];
    public TreeDocument Consent { get; set; } = new();     // purpose -> { g, t, s } (ConsentSet)
    public List<long> Recent { get; set; } = [];            // newest timeline part, ascending
    public List<long> RecentTimes { get; set; } = [];       // the event time (ticks) of each of Recent (EventTimes.Unknown: kept before times were)
    public int Chunks { get; set; }
    public bool IsNew { get; set; }
    public TreeDocument Skipped { get; set; } = new();     // SkippedValues: { c: { field: n }, r: [ { s, f, m } ] }

    private int _storedKeys = -1; // trait keys and bytes as stored ("tk", "tb"); -1: written before the limits, counted on first use
    private long _storedBytes;
    private TraitBudget? _budget;

    /// <summary>The traits' running key and byte counts under <paramref name="limits"/>.</summary>
    public TraitBudget Budget(ProfileLimits limits)
    {
        if (_budget is not null) return _budget;
        _budget = new TraitBudget(limits);
        if (_storedKeys >= 0) { _budget.Keys = _storedKeys; _budget.Bytes = _storedBytes; }
        else _budget.Recount(Traits, TraitTimes);
        return _budget;
    }

    public TreeDocument ToTree()
    {
        var d = new TreeDocument { ["_id"] = Profile };
        if (Into != 0) { d["into"] = Into; return d; }
        d["f"] = First;
        d["l"] = Last;
        d["n"] = Events;
        d["src"] = Sources;
        d["tc"] = TypeCounts;
        d["ec"] = EventCounts;
        d["tr"] = Traits;
        d["tt"] = TraitTimes;
        if (_budget is not null || _storedKeys >= 0)
        {
            d["tk"] = _budget?.Keys ?? _storedKeys;
            d["tb"] = _budget?.Bytes ?? _storedBytes;
        }
        if (Skipped.Count > 0) d["sk"] = Skipped;
        if (Survivors.Count > 0) d["sv"] = Survivors;
        if (Computed.Count > 0) d["ct"] = Computed;
        if (Groups.Count > 0) d["g"] = new TreeArray(Groups.Select(g => new TreeValue(g)));
        if (Consent.Count > 0) d["cs"] = Consent;
        d["tl"] = Varint.Encode(Recent);
        d["tlt"] = EventTimes.Encode(RecentTimes);
        if (Chunks > 0) d["tlc"] = Chunks;
        return d;
    }

    /// <summary>The record as BSON bytes (how PostgreSQL keeps it: byte for byte the document LiteDB keeps).</summary>
    public byte[] ToBytes() => TreeBson.Serialize(ToTree());

    public static ProfileState FromBytes(byte[] bytes) => FromTree(TreeBson.Deserialize(bytes));

    /// <summary>The trait at a dotted path matches <paramref name="value"/> by the profile search's rule (<see cref="TraitSearch"/>).</summary>
    public bool HasTraitValue(string path, string value)
    {
        if (Into != 0) return false;
        TreeValue at = Traits;
        foreach (var name in path.Split('.'))
        {
            if (!at.IsDocument) return false;
            at = at.AsDocument[name];
        }
        return TraitSearch.Matches(at, value);
    }

    public static ProfileState FromTree(TreeDocument d)
    {
        var p = new ProfileState(d["_id"].AsInt64);
        if (d.TryGetValue("into", out var into)) { p.Into = into.AsInt64; return p; }
        p.First = d["f"].AsDateTime.ToUniversalTime();
        p.Last = d["l"].AsDateTime.ToUniversalTime();
        p.Events = d["n"].AsInt64;
        p.Sources = d["src"].AsDocument;
        p.TypeCounts = d["tc"].AsDocument;
        p.EventCounts = d["ec"].AsDocument;
        p.Traits = d["tr"].AsDocument;
        p.TraitTimes = d["tt"].AsDocument;
        if (d.TryGetValue("tk", out var tk) && tk.IsNumber && d.TryGetValue("tb", out var tb) && tb.IsNumber) { p._storedKeys = tk.AsInt32; p._storedBytes = tb.AsInt64; }
        if (d.TryGetValue("sk", out var sk) && sk.IsDocument) p.Skipped = sk.AsDocument;
        if (d.TryGetValue("sv", out var sv) && sv.IsDocument) p.Survivors = sv.AsDocument;
        if (d.TryGetValue("ct", out var ct)) p.Computed = ct.AsDocument;
        if (d.TryGetValue("g", out var g)) p.Groups = g.AsArray.Select(x => x.AsString).ToList();
        if (d.TryGetValue("cs", out var cs)) p.Consent = cs.AsDocument;
        p.Recent = Varint.Decode(d["tl"].AsBinary);
        p.RecentTimes = EventTimes.Decode(d.TryGetValue("tlt", out var tlt) && tlt.IsBinary ? tlt.AsBinary : null, p.Recent.Count);
        p.Chunks = d.TryGetValue("tlc", out var c) ? c.AsInt32 : 0;
        return p;
    }
}
