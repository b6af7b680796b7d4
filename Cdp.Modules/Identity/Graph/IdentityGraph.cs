using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Identity.Identifiers;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Identity.Graph;

/// <summary>
/// The identity graph: which profile owns each identifier. The committed identifier map lives in memory
/// (128-bit key hash -> profile number + last-seen day; ~40 bytes per identifier) so that resolving an event
/// touches the database only when it brings a new identifier or a merge. Owned by the processor thread.
/// In memory mode (rule dry runs) nothing is read from or written to the database.
/// </summary>
[Service]
internal sealed class IdentityGraph : IIdentityResolver
{
    private readonly CdpDatabase? _db;
    private readonly ILogger? _log;

    internal readonly Dictionary<UInt128, ulong> Map = new();
    internal readonly HashSet<UInt128> QuarantinedKeys = new();
    internal readonly Dictionary<long, List<long>> Directives = new();

    // memory mode only: the committed documents
    private readonly Dictionary<long, IdentityNode> _memNodes = new();
    private readonly Dictionary<string, KeyRecord> _memKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MergeRecord> _memMerges = new(StringComparer.Ordinal);

    public IdentityGraph(CdpDatabase db, IOptions<IdentityOptions> options, ILogger<IdentityGraph> log)
    {
        _db = db;
        _log = log;
        Catalogue = new IdentifierCatalogue(options.Value);
    }

    private IdentityGraph(IdentifierCatalogue catalogue, IEnumerable<UnmergeDirective> directives)
    {
        Catalogue = catalogue;
        foreach (var d in directives) AddDirective(d);
    }

    /// <summary>A graph that lives only in memory, for dry runs of proposed settings.</summary>
    public static IdentityGraph InMemory(IdentityOptions options, IEnumerable<UnmergeDirective> directives) =>
        new(new IdentifierCatalogue(options), directives);

    public IdentifierCatalogue Catalogue { get; }

    public bool IsMemory => _db is null;

    public IReadOnlyDictionary<long, IdentityNode> MemoryNodes => _memNodes;

    public void Load()
    {
        Map.Clear();
        QuarantinedKeys.Clear();
        Directives.Clear();
        if (_db is null) return;
        var nodes = 0;
        foreach (var d in _db.Collection(IdentitySchema.Nodes).FindAll())
        {
            if (d.ContainsKey("into")) continue;
            var profile = d["_id"].AsInt64;
            nodes++;
            foreach (var i in d["ids"].AsArray)
                Map[IdentitySchema.Hash(i["k"].AsString)] = IdentitySchema.Pack(profile, IdentitySchema.Day(i["l"].AsDateTime.ToUniversalTime()));
        }
        foreach (var q in _db.Collection(IdentitySchema.Quarantine).Find(Query.EQ("kind", "identifier")))
            QuarantinedKeys.Add(IdentitySchema.Hash(q["subject"].AsString));
        foreach (var u in _db.Collection(IdentitySchema.Unmerges).FindAll()) AddDirective(UnmergeDirective.FromBson(u));
        _log?.LogInformation("Identity graph loaded: {Profiles} profiles, {Identifiers} identifiers, {Quarantined} quarantined identifiers, {Unmerges} unmerges",
            nodes, Map.Count, QuarantinedKeys.Count, Directives.Count);
    }

    internal void AddDirective(UnmergeDirective d)
    {
        if (!Directives.TryGetValue(d.Sequence, out var losers)) Directives[d.Sequence] = losers = [];
        if (!losers.Contains(d.Loser)) losers.Add(d.Loser);
    }

    public IIdentityBatch BeginBatch() => new IdentityBatch(this, null, null);

    public UnmergeBatch? BeginUnmerge(string mergeId, DateTime at)
    {
        var record = LoadMerge(mergeId);
        if (record is null) return null;
        var root = record.Winner;
        for (var guard = 0; guard < 1_000_000; guard++)
        {
            var n = LoadNode(root) ?? throw new InvalidOperationException($"identity node {root} is missing");
            if (n.Into == 0) break;
            root = n.Into;
        }
        var rootNode = LoadNode(root)!;
        var dissolved = new List<long> { root };
        dissolved.AddRange(rootNode.Absorbed);
        var batch = new IdentityBatch(this, rootNode, new UnmergeDirective(record.Id, record.Sequence, record.Loser, at));
        return new UnmergeBatch(batch, root, dissolved);
    }

    public void Reset(LiteDatabase db)
    {
        foreach (var c in new[] { IdentitySchema.Nodes, IdentitySchema.Keys, IdentitySchema.Merges, IdentitySchema.Quarantine })
            db.GetCollection(c).DeleteAll();
        _memNodes.Clear();
        _memKeys.Clear();
        _memMerges.Clear();
    }

    internal IdentityNode? LoadNode(long profile)
    {
        if (_db is null) return _memNodes.GetValueOrDefault(profile);
        var d = _db.Collection(IdentitySchema.Nodes).FindById(profile);
        return d is null ? null : IdentityNode.FromBson(d);
    }

    internal KeyRecord? LoadKey(string key)
    {
        if (_db is null) return _memKeys.GetValueOrDefault(key);
        var d = _db.Collection(IdentitySchema.Keys).FindById(key);
        return d is null ? null : KeyRecord.FromBson(d);
    }

    internal MergeRecord? LoadMerge(string id)
    {
        if (_db is null) return _memMerges.GetValueOrDefault(id);
        var d = _db.Collection(IdentitySchema.Merges).FindById(id);
        return d is null ? null : MergeRecord.FromBson(d);
    }

    /// <summary>Memory mode: keep what a batch wrote.</summary>
    internal void KeepInMemory(IEnumerable<IdentityNode> nodes, IEnumerable<long> deletedNodes, IEnumerable<KeyRecord> keys,
        IEnumerable<string> deletedKeys, IEnumerable<MergeRecord> merges, IEnumerable<string> deletedMerges)
    {
        foreach (var n in deletedNodes) _memNodes.Remove(n);
        foreach (var n in nodes) _memNodes[n.Profile] = n;
        foreach (var k in deletedKeys) _memKeys.Remove(k);
        foreach (var k in keys) _memKeys[k.Key] = k;
        foreach (var m in deletedMerges) _memMerges.Remove(m);
        foreach (var m in merges) _memMerges[m.Id] = m;
    }

    public IEnumerable<MergeRecord> MemoryMerges => _memMerges.Values;
}
