using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Identity.Identifiers;
using Cdp.Modules.Shared.Memory;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;
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
    private readonly IIdentityStore? _store;
    private readonly IEventLog? _eventLog;
    private readonly ILogger? _log;

    internal readonly Dictionary<UInt128, ulong> Map = new();
    internal readonly HashSet<UInt128> QuarantinedKeys = new();
    internal readonly HashSet<long> QuarantinedProfiles = new(); // so that resolving an event needs no node read
    internal readonly Dictionary<long, List<long>> Directives = new();

    /// <summary>
    /// Key hash -> events (ascending) that carried the identifier while nobody owned it and did not take it either: the
    /// event went to a quarantined profile (which takes events, not identifiers), or an alias whose previousId could have
    /// been that user id. Nothing else records them (a touch needs an owner), yet a replay in which someone owns the
    /// identifier earlier resolves them differently, so an unmerge that replays any event carrying the identifier must
    /// replay these too. Rare (quarantined profiles and aliases only), so kept in memory.
    /// </summary>
    internal readonly Dictionary<UInt128, List<long>> Carriers = new();

    /// <summary>Links a replay (after a reprocess) must apply again, by (sequence, order); <see cref="PendingCursor"/> = how many are done.</summary>
    internal readonly List<LinkRecord> PendingLinks = [];
    internal int PendingCursor;

    /// <summary>Orders links decided after the same event; continues after the largest stored.</summary>
    internal long NextLinkOrder = 1;

    /// <summary>Committed nodes kept deserialised (a batch takes them out and puts them back after its commit): Cdp:Identity:CachedNodes.</summary>
    private readonly BoundedCache<IdentityNode> _nodeCache = new(0); // replaced by the database graph's constructor; memory mode keeps none

    // memory mode only: the committed documents
    private readonly Dictionary<long, IdentityNode> _memNodes = new();
    private readonly Dictionary<string, KeyRecord> _memKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MergeRecord> _memMerges = new(StringComparer.Ordinal);

    public IdentityGraph(IIdentityStore store, IEventLog eventLog, IOptions<IdentityOptions> options, ILogger<IdentityGraph> log,
        ISuppressionList? suppressions = null)
    {
        _store = store;
        Suppressions = suppressions;
        _eventLog = eventLog;
        _log = log;
        Catalogue = new IdentifierCatalogue(options.Value);
        _nodeCache = new BoundedCache<IdentityNode>(options.Value.CachedNodes);
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

    /// <summary>Identifiers of deleted people: resolution ignores them, so that neither a late event nor a reprocess brings the person back.</summary>
    public ISuppressionList? Suppressions { get; }

    public bool IsMemory => _store is null;

    public IReadOnlyDictionary<long, IdentityNode> MemoryNodes => _memNodes;

    public void Load()
    {
        _nodeCache.Clear();
        Map.Clear();
        QuarantinedKeys.Clear();
        QuarantinedProfiles.Clear();
        Directives.Clear();
        PendingLinks.Clear();
        PendingCursor = 0;
        Carriers.Clear();
        if (_store is null) return;
        var nodes = 0;
        foreach (var node in _store.LiveNodes())
        {
            nodes++;
            foreach (var i in node.Ids) Map[IdentitySchema.Hash(i.Key)] = IdentitySchema.Pack(node.Profile, IdentitySchema.Day(i.Last));
        }
        foreach (var q in _store.Quarantined("identifier")) QuarantinedKeys.Add(IdentitySchema.Hash(q.Subject));
        foreach (var q in _store.Quarantined("profile")) QuarantinedProfiles.Add(q.Profile);
        foreach (var u in _store.Unmerges()) AddDirective(u);
        foreach (var (hash, events) in _store.Carriers()) Carriers[hash] = events;
        foreach (var l in _store.Links())
        {
            NextLinkOrder = Math.Max(NextLinkOrder, l.Order + 1);
            if (l.Status == LinkStatus.Pending) PendingLinks.Add(l);
        }
        PendingLinks.Sort(LinkOrder);
        _log?.LogInformation("Identity graph loaded: {Profiles} profiles, {Identifiers} identifiers, {Quarantined} quarantined identifiers, {Unmerges} unmerges",
            nodes, Map.Count, QuarantinedKeys.Count, Directives.Count);
    }

    internal void AddDirective(UnmergeDirective d)
    {
        if (!Directives.TryGetValue(d.Sequence, out var losers)) Directives[d.Sequence] = losers = [];
        if (!losers.Contains(d.Loser)) losers.Add(d.Loser);
    }

    public IIdentityBatch BeginBatch() => new IdentityBatch(this, null, null);

    internal static readonly Comparison<LinkRecord> LinkOrder = (x, y) => x.Sequence != y.Sequence ? x.Sequence.CompareTo(y.Sequence) : x.Order.CompareTo(y.Order);

    public const string ProbabilisticRule = "probabilistic";

    public UnmergeBatch? BeginUnmerge(string mergeId, DateTime at, Func<long, IReadOnlyList<long>> timelineOf)
    {
        var record = LoadMerge(mergeId);
        if (record is null || _eventLog is null) return null;
        _nodeCache.Clear();
        var root = record.Winner;
        for (var guard = 0; guard < 1_000_000; guard++)
        {
            var n = LoadNode(root) ?? throw new InvalidOperationException($"identity node {root} is missing");
            if (n.Into == 0) break;
            root = n.Into;
        }

        // The closure, so that replaying it alone gives what a full replay gives: profiles and events that share an
        // identifier, transitively. Each event brings the live owners of the identifiers it carries (and the events that
        // carried an identifier nobody could take, IdentityGraph.Carriers); each profile brings its events (its timeline)
        // and the events that carried its identifiers but went elsewhere (touches). No event outside then carries an
        // identifier of the closure, so the outside resolves as before and the closure replays on its own.
        // As wide as the merge's connected component through identifiers and touches (an identifier quarantined by the
        // blob guard joins no profiles but still connects the events that carried it): a few profiles for real people,
        // at most the whole log. The replay's event count is logged and returned.
        var live = new List<IdentityNode>();
        var inClosure = new HashSet<long> { root };
        var queue = new Queue<long>([root]);
        var events = new SortedDictionary<long, LoggedEvent>();
        var carried = new HashSet<UInt128>();
        var wanted = new SortedSet<long>();
        while (queue.Count > 0 || wanted.Count > 0)
        {
            while (queue.Count > 0)
            {
                var node = LoadNode(queue.Dequeue())!;
                live.Add(node);
                foreach (var s in timelineOf(node.Profile).Concat(node.Touches)) if (!events.ContainsKey(s)) wanted.Add(s);
            }
            var fresh = wanted.ToList();
            wanted.Clear();
            foreach (var e in ReadEvents(_eventLog, fresh))
            {
                events[e.Sequence] = e;
                using var doc = JsonDocument.Parse(e.Json);
                foreach (var key in CarriedKeys(doc.RootElement))
                {
                    var h = IdentitySchema.Hash(key);
                    if (!carried.Add(h)) continue;
                    if (Carriers.TryGetValue(h, out var others))
                        foreach (var s in others) if (!events.ContainsKey(s)) wanted.Add(s);
                    if (!Map.TryGetValue(h, out var packed)) continue;
                    var owner = IdentitySchema.ProfileOf(packed);
                    if (inClosure.Add(owner)) queue.Enqueue(owner);
                }
            }
        }
        var dissolved = live.SelectMany(n => n.Absorbed.Append(n.Profile)).Distinct().ToList();
        // a probabilistic merge is undone by forgetting its link (no event joined the two, so no directive is needed);
        // the other links inside the dissolved profiles are applied again where they were decided
        var probabilistic = record.Rule == ProbabilisticRule;
        var inside = dissolved.ToHashSet();
        var replayLinks = _store!.Links(LinkStatus.Applied)
            .Where(l => l.Id != record.Id && inside.Contains(l.Left) && inside.Contains(l.Right)).ToList();
        replayLinks.Sort(LinkOrder);
        var batch = new IdentityBatch(this, live, probabilistic ? null : new UnmergeDirective(record.Id, record.Sequence, record.Loser, at),
            probabilistic ? record.Id : null, replayLinks, at, carried);
        return new UnmergeBatch(batch, root, live.Select(n => n.Profile).ToList(), dissolved, events.Values.ToList());
    }

    /// <summary>
    /// The identifiers an event may carry in any replay: an alias's previousId is a user id or an anonymous id depending on
    /// what is known when it is resolved, so both count.
    /// </summary>
    internal IEnumerable<string> CarriedKeys(JsonElement payload)
    {
        var ids = Catalogue.Extract(payload, _ => false).Select(i => i.Key);
        return payload.TryGetProperty("previousId", out _) ? ids.Union(Catalogue.Extract(payload, _ => true).Select(i => i.Key), StringComparer.Ordinal) : ids;
    }

    /// <summary>Replay reads: events with the given ascending sequences, in runs so that neighbours cost one read.</summary>
    private const int ReplayReadSpan = 512;

    private static IEnumerable<LoggedEvent> ReadEvents(IEventLog log, List<long> sequences)
    {
        var i = 0;
        while (i < sequences.Count)
        {
            var first = sequences[i];
            var span = 1;
            while (i + span < sequences.Count && sequences[i + span] - first < ReplayReadSpan) span++;
            var wanted = new HashSet<long>(sequences.Skip(i).Take(span));
            foreach (var e in log.ReadAfter(first - 1, (int)(sequences[i + span - 1] - first + 1)))
                if (wanted.Contains(e.Sequence)) yield return e;
            i += span;
        }
    }

    public void Reset(IUnitOfWork tx)
    {
        _nodeCache.Clear();
        // the decisions stay; the replay applies them again at the point of the log where they were taken
        _store?.Reset(tx);
        _memNodes.Clear();
        _memKeys.Clear();
        _memMerges.Clear();
        QuarantinedProfiles.Clear();
    }

    /// <summary>After an erasure committed (processor thread): the person's identifiers and nodes leave the in-memory state.</summary>
    internal void Forget(IEnumerable<string> keys, IEnumerable<long> profiles)
    {
        foreach (var key in keys)
        {
            var h = IdentitySchema.Hash(key);
            Map.Remove(h);
            QuarantinedKeys.Remove(h);
            Carriers.Remove(h);
        }
        foreach (var p in profiles)
        {
            QuarantinedProfiles.Remove(p);
            _nodeCache.Remove(p);
        }
    }

    internal IdentityNode? TakeCached(long profile) => _nodeCache.Take(profile);

    internal void PutCached(IdentityNode node)
    {
        if (_store is null || node.Into != 0) return;
        _nodeCache.Put(node.Profile, node);
    }

    internal IdentityNode? LoadNode(long profile) => _store is null ? _memNodes.GetValueOrDefault(profile) : _store.Node(profile);

    internal KeyRecord? LoadKey(string key) => _store is null ? _memKeys.GetValueOrDefault(key) : _store.Key(key);

    internal MergeRecord? LoadMerge(string id) => _store is null ? _memMerges.GetValueOrDefault(id) : _store.Merge(id);

    /// <summary>Writes a batch's changes (database mode only).</summary>
    internal void Write(IUnitOfWork tx, IdentityChanges changes) => _store?.Write(tx, changes);

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
