using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Identity.Identifiers;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Identity.Graph;

/// <summary>
/// Resolves a batch of events against the graph, staging every change; nothing is visible to the graph until
/// <see cref="Committed"/>, so a failed transaction leaves the graph as it was.
/// Rules, per event (identifiers strongest first):
///   none of its identifiers is known: create a profile (number = the event's sequence);
///   one profile matches: attach (new identifiers join it);
///   several match: merge them into the oldest;
///   unless a type's limit would be exceeded: then the weakest identifier of the event that matched a profile is dropped
///   and matching retried (so two profiles with different user_ids never merge when user_id's limit is 1).
/// Blob guard: a merge through an identifier that already joined MaxProfilesPerIdentifier profiles quarantines that
/// identifier instead; a profile past MaxIdentifiersPerProfile / MaxMergesPerProfile is quarantined. Quarantined
/// identifiers and profiles take events but never merge.
/// In unmerge mode the batch replays the events of the dissolved profiles (IdentityGraph.BeginUnmerge's closure): identifiers
/// owned by other profiles would count as taken, but the closure is built so that none of its events carries one.
/// </summary>
internal sealed class IdentityBatch : IIdentityBatch
{
    private const ulong Foreign = ulong.MaxValue;

    private readonly IdentityGraph _g;
    private readonly IdentityOptions _o;
    private readonly IdentifierCatalogue _catalogue;
    private readonly bool _replay;
    private readonly UnmergeDirective? _directive;

    private readonly Dictionary<UInt128, ulong> _map = new();
    private readonly HashSet<UInt128> _unmapped = new();
    private readonly HashSet<UInt128> _quarantinedKeys = new();
    private readonly HashSet<UInt128> _releasedKeys = new();
    private readonly HashSet<long> _quarantinedProfiles = new();
    private readonly HashSet<long> _releasedProfiles = new();
    private readonly Dictionary<long, IdentityNode> _nodes = new();
    private readonly HashSet<long> _dirtyNodes = new();
    private readonly HashSet<long> _deletedNodes = new();
    private readonly Dictionary<string, KeyRecord> _keys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirtyKeys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _deletedKeys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dissolvedKeys = new(StringComparer.Ordinal);
    private readonly List<MergeRecord> _merges = [];
    private readonly HashSet<string> _deletedMerges = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QuarantineRecord> _quarantine = new(StringComparer.Ordinal);
    private readonly HashSet<string> _deletedQuarantine = new(StringComparer.Ordinal);
    private readonly Dictionary<UInt128, List<long>> _carriers = new(); // staged copies of IdentityGraph.Carriers lists

    // probabilistic links: the queue this batch replays (the graph's pending ones, or those inside an unmerge), staged link writes
    private readonly List<LinkRecord> _linkQueue;
    private int _linkCursor;
    private readonly Dictionary<string, LinkRecord> _linkWrites = new(StringComparer.Ordinal);
    private readonly string? _undoneLink;
    private readonly DateTime _undoneAt;

    public IdentityBatch(IdentityGraph graph, IReadOnlyList<IdentityNode>? dissolve, UnmergeDirective? directive,
        string? undoneLink = null, List<LinkRecord>? replayLinks = null, DateTime undoneAt = default, IEnumerable<UInt128>? replayCarried = null)
    {
        _g = graph;
        _catalogue = graph.Catalogue;
        _o = _catalogue.Options;
        _directive = directive;
        _undoneLink = undoneLink;
        _undoneAt = undoneAt;
        _linkQueue = dissolve is null ? graph.PendingLinks : replayLinks ?? [];
        _linkCursor = dissolve is null ? graph.PendingCursor : 0;
        if (dissolve is null) return;
        _replay = true;
        // every event that carried these identifiers is replayed (the closure), so their carrier lists are rebuilt from empty
        foreach (var h in replayCarried ?? []) _carriers[h] = [];
        foreach (var root in dissolve)
        {
            foreach (var profile in root.Absorbed.Append(root.Profile))
            {
                _deletedNodes.Add(profile);
                _deletedQuarantine.Add("profile:" + profile);
                _releasedProfiles.Add(profile);
            }
            foreach (var id in root.Ids)
            {
                var h = IdentitySchema.Hash(id.Key);
                _unmapped.Add(h);
                _releasedKeys.Add(h);
                _deletedKeys.Add(id.Key);
                _dissolvedKeys.Add(id.Key);
                _deletedQuarantine.Add("key:" + id.Key);
            }
            foreach (var m in root.MergeIds) _deletedMerges.Add(m);
        }
    }

    public int MergeCount => _merges.Count;

    public EventIdentity Resolve(LoggedEvent logged, JsonElement payload)
    {
        // alias previousId: a user id when one is known as such (also when owned outside an unmerge replay, as in a full replay)
        var ids = _catalogue.Extract(payload, key => Owner(IdentitySchema.Hash(key)) != 0);
        if (_g.Suppressions is { IsEmpty: false } suppressed) ids.RemoveAll(id => suppressed.Contains(id.Key));
        if (ids.Count == 0) return EventIdentity.Unattributed;
        var hashes = new List<UInt128>(ids.Count);
        foreach (var id in ids) hashes.Add(IdentitySchema.Hash(id.Key));
        var carried = hashes.ToArray();
        // an alias whose previousId is not (yet) a known user id: had it been, the event would have carried that user id
        if (payload.TryGetProperty("previousId", out _))
            foreach (var id in _catalogue.Extract(payload, _ => true))
            {
                var h = IdentitySchema.Hash(id.Key);
                if (Array.IndexOf(carried, h) < 0 && Owner(h) == 0 && _g.Suppressions?.Contains(id.Key) != true) AddCarrier(h, logged.Sequence);
            }
        var result = Resolve(logged, ids, hashes);
        // every profile whose identifier the event carried, but that did not get the event, remembers it
        foreach (var h in carried)
        {
            var packed = Owner(h);
            if (packed is 0 or Foreign) continue;
            var owner = IdentitySchema.ProfileOf(packed);
            if (owner == result.Profile) continue;
            var node = Node(owner);
            if (node.Touches.Count > 0 && node.Touches[^1] == logged.Sequence) continue;
            node.Touches.Add(logged.Sequence);
            _dirtyNodes.Add(owner);
        }
        return result;
    }

    private EventIdentity Resolve(LoggedEvent logged, List<EventIdentifier> ids, List<UInt128> hashes)
    {
        var losers = _g.Directives.GetValueOrDefault(logged.Sequence);
        for (var i = ids.Count - 1; i >= 0; i--)
        {
            var owner = Owner(hashes[i]);
            var undone = owner is not (0 or Foreign) && (losers?.Contains(IdentitySchema.ProfileOf(owner)) == true
                || (_directive is { } d && d.Sequence == logged.Sequence && d.Loser == IdentitySchema.ProfileOf(owner)));
            if (owner == Foreign || undone) { ids.RemoveAt(i); hashes.RemoveAt(i); }
        }

        var at = logged.ReceivedAt;
        var day = IdentitySchema.Day(at);
        var owners = new long[ids.Count];
        var active = new List<long>(2);
        while (true)
        {
            if (ids.Count == 0) return EventIdentity.Unattributed;
            active.Clear();
            long blockedOwner = 0;
            for (var i = 0; i < ids.Count; i++)
            {
                var packed = Owner(hashes[i]);
                owners[i] = packed == 0 ? 0 : IdentitySchema.ProfileOf(packed);
                if (owners[i] == 0) continue;
                if (IsQuarantined(hashes[i]) || IsQuarantined(owners[i]))
                {
                    if (blockedOwner == 0) blockedOwner = owners[i];
                }
                else if (!active.Contains(owners[i])) active.Add(owners[i]);
            }

            if (active.Count == 0)
            {
                if (blockedOwner != 0)
                {
                    Touch(Node(blockedOwner), ids, hashes, owners, at, day);
                    // the quarantined profile takes the event but not its new identifiers: remember who carried them
                    for (var i = 0; i < ids.Count; i++) if (owners[i] == 0) AddCarrier(hashes[i], logged.Sequence);
                    return new EventIdentity(blockedOwner, false, []);
                }
                var created = new IdentityNode(logged.Sequence) { IsNew = true };
                _nodes[created.Profile] = created;
                _deletedNodes.Remove(created.Profile);
                _dirtyNodes.Add(created.Profile);
                for (var i = 0; i < ids.Count; i++) AddIdentifier(created, ids[i], hashes[i], at, day);
                GuardProfile(created, logged, at);
                return new EventIdentity(created.Profile, true, []);
            }

            var newCount = 0;
            for (var i = 0; i < ids.Count; i++) if (owners[i] == 0) newCount++;
            if ((newCount > 0 || active.Count > 1) && ExceedsLimits(active, ids, owners, at))
            {
                // drop the weakest identifier that links the event to an existing profile (dropping a new one cannot help)
                var weakest = ids.Count - 1;
                while (owners[weakest] == 0) weakest--;
                ids.RemoveAt(weakest);
                hashes.RemoveAt(weakest);
                continue;
            }

            // the common case, a known visitor again: one profile, nothing new, every identifier already seen today. Its node
            // would not change (no identifier, no last-seen day, and GuardProfile ran when its identifiers or merges last
            // changed), so it is not even loaded
            if (active.Count == 1 && newCount == 0 && !AdvancesLastSeen(active[0], hashes, owners, day))
                return new EventIdentity(active[0], false, []);

            active.Sort();
            var target = active[0];
            var merges = new List<ProfileMerge>();
            if (active.Count > 1)
            {
                // the event bridges the winner (through one identifier) and each loser (through another):
                // both identifiers count the profiles they joined, for the blob guard
                var winnerSide = Array.IndexOf(owners, target, 0, ids.Count);
                var joins = new List<(long Loser, int Index)>();
                var quarantined = false;
                for (var a = 1; a < active.Count && !quarantined; a++)
                {
                    var index = Array.IndexOf(owners, active[a], 0, ids.Count);
                    foreach (var side in new[] { winnerSide, index })
                    {
                        if (Key(ids[side].Key, owners[side]).Joins + joins.Count + 2 <= _o.MaxProfilesPerIdentifier) continue;
                        QuarantineKey(ids[side], hashes[side], owners[side], logged, at,
                            $"would join more than {_o.MaxProfilesPerIdentifier} profiles (MaxProfilesPerIdentifier)");
                        quarantined = true;
                        break;
                    }
                    joins.Add((active[a], index));
                }
                if (quarantined) continue;
                foreach (var (loser, index) in joins)
                {
                    var record = Merge(target, loser, ids[winnerSide], ids[index], logged, at, merges.Count);
                    merges.Add(new ProfileMerge(record.Id, target, loser));
                }
                for (var i = 0; i < ids.Count; i++) if (owners[i] != 0 && active.Contains(owners[i])) owners[i] = target;
            }

            var node = Node(target);
            for (var i = 0; i < ids.Count; i++) if (owners[i] == 0) AddIdentifier(node, ids[i], hashes[i], at, day);
            Touch(node, ids, hashes, owners, at, day);
            GuardProfile(node, logged, at);
            return new EventIdentity(target, false, merges);
        }
    }

    private void AddCarrier(UInt128 h, long sequence)
    {
        if (!_carriers.TryGetValue(h, out var list))
            _carriers[h] = list = _g.Carriers.TryGetValue(h, out var committed) ? [.. committed] : [];
        if (list.Count == 0 || list[^1] != sequence) list.Add(sequence);
    }

    private ulong Owner(UInt128 h)
    {
        if (_map.TryGetValue(h, out var v)) return v;
        if (_unmapped.Contains(h)) return 0;
        if (!_g.Map.TryGetValue(h, out v)) return 0;
        return _replay ? Foreign : v; // unmerge replay: every identifier outside the dissolved profile belongs to someone else
    }

    private bool IsQuarantined(UInt128 h) =>
        _quarantinedKeys.Contains(h) || (_g.QuarantinedKeys.Contains(h) && !_releasedKeys.Contains(h));

    private bool IsQuarantined(long profile) =>
        _quarantinedProfiles.Contains(profile) || (_g.QuarantinedProfiles.Contains(profile) && !_releasedProfiles.Contains(profile));

    private IdentityNode Node(long profile)
    {
        if (_nodes.TryGetValue(profile, out var n)) return n;
        n = (_replay ? null : _g.TakeCached(profile) ?? _g.LoadNode(profile)) ?? throw new InvalidOperationException($"identity node {profile} is missing");
        _nodes[profile] = n;
        return n;
    }

    private KeyRecord Key(string key, long profile)
    {
        if (_keys.TryGetValue(key, out var k)) return k;
        k = (_replay ? null : _g.LoadKey(key)) ?? new KeyRecord(key, profile) { IsNew = !_replay };
        _keys[key] = k;
        return k;
    }

    private bool ExceedsLimits(List<long> active, List<EventIdentifier> ids, long[] owners, DateTime at)
    {
        foreach (var type in _catalogue.Types)
        {
            if (type.Limit <= 0) continue;
            var cutoff = type.WindowLength is { } w ? at - w : DateTime.MinValue;
            var prefix = type.Name + ":";
            int total = 0, largest = 0;
            foreach (var p in active)
            {
                var c = 0;
                foreach (var i in Node(p).Ids)
                    if (i.Last >= cutoff && i.Key.StartsWith(prefix, StringComparison.Ordinal)) c++;
                total += c;
                largest = Math.Max(largest, c);
            }
            for (var i = 0; i < ids.Count; i++) if (owners[i] == 0 && ReferenceEquals(ids[i].Type, type)) total++;
            if (total > type.Limit && total > largest) return true;
        }
        return false;
    }

    private void AddIdentifier(IdentityNode node, EventIdentifier id, UInt128 h, DateTime at, int day)
    {
        var key = id.Key;
        node.Ids.Add(new NodeIdentifier(key, at, at));
        _dirtyNodes.Add(node.Profile);
        _map[h] = IdentitySchema.Pack(node.Profile, day);
        _unmapped.Remove(h);
        var k = _replay || !_keys.ContainsKey(key) ? new KeyRecord(key, node.Profile) { IsNew = !_replay && !_dissolvedKeys.Contains(key) } : _keys[key];
        k.Profile = node.Profile;
        _keys[key] = k;
        _dirtyKeys.Add(key);
        _deletedKeys.Remove(key);
    }

    /// <summary>Whether <see cref="Touch"/> would move a last-seen day of <paramref name="profile"/> forward.</summary>
    private bool AdvancesLastSeen(long profile, List<UInt128> hashes, long[] owners, int day)
    {
        for (var i = 0; i < hashes.Count; i++)
            if (owners[i] != 0 && Advances(hashes[i], profile, day)) return true;
        return false;
    }

    /// <summary>The identifier belongs to <paramref name="profile"/> and was last seen before <paramref name="day"/>.</summary>
    private bool Advances(UInt128 hash, long profile, int day)
    {
        var packed = Owner(hash);
        return IdentitySchema.ProfileOf(packed) == profile && IdentitySchema.DayOf(packed) < day;
    }

    /// <summary>Moves an identifier's last-seen day forward (limits count identifiers seen within their window).</summary>
    private void Touch(IdentityNode node, List<EventIdentifier> ids, List<UInt128> hashes, long[] owners, DateTime at, int day)
    {
        for (var i = 0; i < ids.Count; i++)
        {
            if (owners[i] == 0 || !Advances(hashes[i], node.Profile, day)) continue;
            var key = ids[i].Key;
            foreach (var n in node.Ids)
            {
                if (n.Key != key) continue;
                if (n.Last < at) n.Last = at;
                break;
            }
            _map[hashes[i]] = IdentitySchema.Pack(node.Profile, day);
            _dirtyNodes.Add(node.Profile);
        }
    }

    private MergeRecord Merge(long winner, long loser, EventIdentifier matched, EventIdentifier joining, LoggedEvent e, DateTime at, int index)
    {
        var record = new MergeRecord($"m{e.Sequence}-{index}", winner, loser, $"deterministic:{matched.Type.Name}+{joining.Type.Name}",
            joining.Key, matched.Key, e.Sequence, e.Source, e.MessageId, at);
        Absorb(record);
        Key(joining.Key, loser).Joins++;
        Key(matched.Key, winner).Joins++;
        _dirtyKeys.Add(joining.Key);
        _dirtyKeys.Add(matched.Key);
        return record;
    }

    /// <summary>Folds the record's loser into its winner: identifiers, absorbed profiles, merge records, touches.</summary>
    private void Absorb(MergeRecord record)
    {
        var (winner, loser) = (record.Winner, record.Loser);
        var w = Node(winner);
        var l = Node(loser);
        foreach (var id in l.Ids)
        {
            w.Ids.Add(id);
            _map[IdentitySchema.Hash(id.Key)] = IdentitySchema.Pack(winner, IdentitySchema.Day(id.Last));
        }
        w.Absorbed.Add(loser);
        w.Absorbed.AddRange(l.Absorbed);
        w.MergeIds.AddRange(l.MergeIds);
        w.MergeIds.Add(record.Id);
        w.Touches = Varint.MergeSorted(w.Touches, l.Touches);
        l.Touches = [];
        w.Merges += l.Merges + 1;
        l.Into = winner;
        l.Ids = [];
        l.Absorbed = [];
        l.MergeIds = [];
        l.Merges = 0;
        _dirtyNodes.Add(winner);
        _dirtyNodes.Add(loser);
        _merges.Add(record);
    }

    public LinkOutcome Link(ProfileLink link, long sequence, DateTime at)
    {
        if (_replay) throw new InvalidOperationException("links are applied on the live graph, not inside an unmerge replay");
        var record = new LinkRecord(link.Id, link.Left, link.Right, sequence, _g.NextLinkOrder++, at, LinkStatus.Applied, link.Evidence);
        var outcome = Apply(record);
        if (outcome.Merge is not null) _linkWrites[record.Id] = record;
        return outcome;
    }

    public IReadOnlyList<ProfileMerge> ReplayLinks(long through)
    {
        if (_linkCursor >= _linkQueue.Count || _linkQueue[_linkCursor].Sequence > through) return [];
        var merges = new List<ProfileMerge>();
        while (_linkCursor < _linkQueue.Count && _linkQueue[_linkCursor].Sequence <= through)
        {
            var link = _linkQueue[_linkCursor++];
            var outcome = Apply(link);
            // a replay that finds nothing to merge voids the link, so that no later batch tries it again
            _linkWrites[link.Id] = outcome.Merge is null ? link with { Status = LinkStatus.Void, Note = outcome.Refusal } : link with { Status = LinkStatus.Applied, Note = null };
            if (outcome.Merge is not null) merges.Add(outcome.Merge);
        }
        return merges;
    }

    private LinkOutcome Apply(LinkRecord link)
    {
        var a = LiveOf(link.Left);
        var b = LiveOf(link.Right);
        if (a is null || b is null)
            return new LinkOutcome(link.Id, null, $"{ProfileIds.Format(a is null ? link.Left : link.Right)} no longer exists", LinkRefusalKind.Missing);
        if (a == b) return new LinkOutcome(link.Id, null, $"already one profile ({ProfileIds.Format(a.Value)})", LinkRefusalKind.AlreadyOne);
        var refusal = LinkRules.Refusal(_catalogue, Side(a.Value), Side(b.Value), link.At);
        if (refusal is not null) return new LinkOutcome(link.Id, null, refusal, LinkRefusalKind.Rules);
        var (winner, loser) = a < b ? (a.Value, b.Value) : (b.Value, a.Value);
        var record = new MergeRecord(link.Id, winner, loser, IdentityGraph.ProbabilisticRule, "", "", link.Sequence, "matching", link.Id, link.At, link.Evidence);
        Absorb(record);
        return new LinkOutcome(link.Id, new ProfileMerge(record.Id, winner, loser), null);
    }

    private LinkSide Side(long profile)
    {
        var n = Node(profile);
        return new LinkSide(profile, n.Ids, n.Merges, n.Quarantine ?? (IsQuarantined(profile) ? "quarantined" : null), key => IsQuarantined(IdentitySchema.Hash(key)));
    }

    /// <summary>Bounds the walk along "into" links (a chain is at most as long as the merges of one profile).</summary>
    private const int MaxChain = 1_000_000;

    /// <summary>The live profile a profile number belongs to in the staged graph; null when it does not exist (in a replay: not yet).</summary>
    private long? LiveOf(long profile)
    {
        for (var i = 0; i < MaxChain; i++)
        {
            if (!_nodes.TryGetValue(profile, out var n))
            {
                if (_replay || _deletedNodes.Contains(profile)) return null;
                n = _g.TakeCached(profile) ?? _g.LoadNode(profile);
                if (n is null) return null;
                _nodes[profile] = n;
            }
            if (n.Into == 0) return profile;
            profile = n.Into;
        }
        return null;
    }

    private void QuarantineKey(EventIdentifier id, UInt128 h, long owner, LoggedEvent e, DateTime at, string reason)
    {
        _quarantinedKeys.Add(h);
        var q = new QuarantineRecord("key:" + id.Key, "identifier", id.Key, owner, reason, e.Sequence, at);
        _quarantine[q.Id] = q;
        _deletedQuarantine.Remove(q.Id);
    }

    private void GuardProfile(IdentityNode node, LoggedEvent e, DateTime at)
    {
        if (node.Quarantine is not null) return;
        string? reason = null;
        if (node.Ids.Count > _o.MaxIdentifiersPerProfile) reason = $"more than {_o.MaxIdentifiersPerProfile} identifiers (MaxIdentifiersPerProfile)";
        else if (node.Merges > _o.MaxMergesPerProfile) reason = $"more than {_o.MaxMergesPerProfile} merges (MaxMergesPerProfile)";
        if (reason is null) return;
        node.Quarantine = reason;
        _quarantinedProfiles.Add(node.Profile);
        _dirtyNodes.Add(node.Profile);
        var q = new QuarantineRecord("profile:" + node.Profile, "profile", "p_" + node.Profile, node.Profile, reason, e.Sequence, at);
        _quarantine[q.Id] = q;
        _deletedQuarantine.Remove(q.Id);
    }

    public void Write(IUnitOfWork tx)
    {
        if (_g.IsMemory) return;
        var newNodes = new List<IdentityNode>();
        var changedNodes = new List<IdentityNode>();
        foreach (var p in _dirtyNodes)
        {
            var n = _nodes[p];
            (n.IsNew && !_replay ? newNodes : changedNodes).Add(n);
        }
        var newKeys = new List<KeyRecord>();
        var changedKeys = new List<KeyRecord>();
        foreach (var k in _dirtyKeys)
        {
            var r = _keys[k];
            (r.IsNew ? newKeys : changedKeys).Add(r);
        }
        _g.Write(tx, new IdentityChanges
        {
            Replay = _replay,
            DeletedNodes = _deletedNodes.Where(p => !_dirtyNodes.Contains(p)).ToList(),
            NewNodes = newNodes,
            ChangedNodes = changedNodes,
            DeletedKeys = _deletedKeys,
            NewKeys = newKeys,
            ChangedKeys = changedKeys,
            DeletedMerges = _deletedMerges,
            Merges = _merges,
            DeletedQuarantine = _deletedQuarantine,
            Quarantine = _quarantine.Values.ToList(),
            Unmerge = _directive,
            Carriers = _carriers.Select(c => (c.Key, c.Value)).ToList(),
            Links = _linkWrites.Values.ToList(),
            UndoneLink = _undoneLink,
            UndoneAt = _undoneAt,
        });
    }

    public void Committed()
    {
        foreach (var h in _unmapped) _g.Map.Remove(h);
        foreach (var (h, v) in _map) _g.Map[h] = v;
        foreach (var h in _releasedKeys) _g.QuarantinedKeys.Remove(h);
        foreach (var h in _quarantinedKeys) _g.QuarantinedKeys.Add(h);
        foreach (var p in _releasedProfiles) _g.QuarantinedProfiles.Remove(p);
        foreach (var p in _quarantinedProfiles) _g.QuarantinedProfiles.Add(p);
        foreach (var (h, list) in _carriers)
        {
            if (list.Count == 0) _g.Carriers.Remove(h);
            else _g.Carriers[h] = list;
        }
        if (_directive is not null) _g.AddDirective(_directive);
        if (!_replay) _g.PendingCursor = _linkCursor;
        foreach (var p in _dirtyNodes) _nodes[p].IsNew = false;
        if (!_replay) foreach (var n in _nodes.Values) _g.PutCached(n);
        foreach (var k in _dirtyKeys) _keys[k].IsNew = false;
        if (_g.IsMemory)
            _g.KeepInMemory(_dirtyNodes.Select(p => _nodes[p]), _deletedNodes.Where(p => !_dirtyNodes.Contains(p)),
                _dirtyKeys.Select(k => _keys[k]), _deletedKeys, _merges, _deletedMerges);
    }
}
