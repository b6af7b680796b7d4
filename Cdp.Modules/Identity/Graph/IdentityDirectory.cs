using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Identity.Graph;

/// <summary>Reads the committed identity graph from the database; safe on any thread.</summary>
[Service]
internal sealed class IdentityDirectory(IIdentityStore store, IdentityGraph graph) : IIdentityDirectory
{
    /// <summary>Bounds the walk along "into" links; a chain is at most as long as the merges of one profile.</summary>
    private const int MaxChain = 1_000_000;

    public long? FindProfile(string typeAndValue) => FirstProfile(typeAndValue) is { } first ? LiveProfile(first) : null;

    public long? FirstProfile(string typeAndValue)
    {
        var id = graph.Catalogue.Parse(typeAndValue);
        if (id is null) return null;
        return store.Key(id.Value.Key)?.Profile;
    }

    public long? LiveProfile(long profile)
    {
        for (var i = 0; i < MaxChain; i++)
        {
            var n = store.Node(profile);
            if (n is null) return null;
            if (n.Into == 0) return profile;
            profile = n.Into;
        }
        return null;
    }

    public ProfileIdentity? Get(long profile)
    {
        var n = store.Node(profile);
        if (n is null || n.Into != 0) return null;
        var ids = n.Ids.Select(i =>
        {
            var type = IdentitySchema.TypeOf(i.Key);
            return new IdentifierView(type, i.Key[(type.Length + 1)..], i.First, i.Last, store.QuarantineEntry("key:" + i.Key) is not null);
        }).ToList();
        return new ProfileIdentity(profile, ids, n.Merges, n.Quarantine, n.Absorbed);
    }

    public IReadOnlyList<MergeRecordView> MergeHistory(long profile)
    {
        var n = store.Node(profile);
        if (n is null || n.Into != 0) return [];
        return n.MergeIds.Select(Merge).OfType<MergeRecordView>().OrderBy(m => m.Sequence).ThenBy(m => m.Id, StringComparer.Ordinal).ToList();
    }

    public MergeRecordView? Merge(string mergeId)
    {
        var m = store.Merge(mergeId);
        if (m is null) return null;
        return new MergeRecordView(m.Id, m.Winner, m.Loser, m.Rule, m.JoiningIdentifier, m.MatchedIdentifier, m.Sequence, m.Source, m.MessageId, m.At, false, m.Evidence);
    }

    public IReadOnlyList<MergeRecordView>? Explain(long a, long b)
    {
        var rootA = LiveProfile(a);
        if (rootA is null || rootA != LiveProfile(b)) return null;
        if (a == b) return [];
        // merge records are the edges of a tree over the profile numbers of one live profile: walk it breadth first
        var edges = MergeHistory(rootA.Value);
        var adjacent = new Dictionary<long, List<MergeRecordView>>();
        foreach (var m in edges)
        {
            (adjacent.TryGetValue(m.Winner, out var wl) ? wl : adjacent[m.Winner] = []).Add(m);
            (adjacent.TryGetValue(m.Loser, out var ll) ? ll : adjacent[m.Loser] = []).Add(m);
        }
        var via = new Dictionary<long, MergeRecordView?> { [a] = null };
        var queue = new Queue<long>([a]);
        while (queue.Count > 0)
        {
            var p = queue.Dequeue();
            if (p == b) break;
            foreach (var m in adjacent.GetValueOrDefault(p) ?? [])
            {
                var next = m.Winner == p ? m.Loser : m.Winner;
                if (via.TryAdd(next, m)) queue.Enqueue(next);
            }
        }
        if (!via.ContainsKey(b)) return null;
        var path = new List<MergeRecordView>();
        for (var p = b; via[p] is { } m; p = m.Winner == p ? m.Loser : m.Winner) path.Add(m);
        path.Reverse();
        return path;
    }

    public string? LinkRefusal(long a, long b)
    {
        LinkSide? Side(long p)
        {
            var n = store.Node(p);
            if (n is null || n.Into != 0) return null;
            var q = n.Quarantine ?? store.QuarantineEntry("profile:" + p)?.Reason;
            return new LinkSide(p, n.Ids, n.Merges, q, key => store.QuarantineEntry("key:" + key) is not null);
        }
        if (a == b) return $"already one profile ({Cdp.Modules.Identity.Contracts.ProfileIds.Format(a)})";
        var sa = Side(a);
        var sb = Side(b);
        if (sa is null || sb is null) return $"{Cdp.Modules.Identity.Contracts.ProfileIds.Format(sa is null ? a : b)} no longer exists";
        return LinkRules.Refusal(graph.Catalogue, sa.Value, sb.Value, DateTime.UtcNow);
    }

    public IReadOnlyList<QuarantineEntry> Quarantine(int skip, int take) =>
        store.QuarantinePage(skip, take).Select(q => new QuarantineEntry(q.Id, q.Kind, q.Subject, q.Profile, q.Reason, q.Sequence, q.At)).ToList();
}
