using System.Text.Json;
using Cdp.Modules.Identity.Contracts;

namespace Cdp.Modules.Identity.Graph;

/// <summary>
/// Identity nodes of the profiles the next batch will most likely touch, read on the read-ahead thread while the current
/// batch writes: taken out of the node cache or read from the database. Nothing it reads changes during the write phase
/// (the map, the cache and the committed nodes change only when the batch is published, after the caller waited for
/// this), and it never holds a node of the current batch, whose commit is the only one that can change them.
/// </summary>
internal sealed class IdentityReadAhead(IdentityGraph graph, IdentityBatch current) : IIdentityReadAhead
{
    private readonly Dictionary<long, IdentityNode> _nodes = new();
    private readonly List<long> _owners = new(4);

    public void Add(JsonElement payload, ICollection<long> into)
    {
        _owners.Clear();
        graph.CurrentOwners(payload, _owners);
        foreach (var p in _owners)
        {
            if (!into.Contains(p)) into.Add(p);
            if (_nodes.ContainsKey(p) || current.Holds(p)) continue;
            if ((graph.TakeCached(p) ?? graph.LoadNode(p)) is { Into: 0 } node) _nodes[p] = node;
        }
    }

    /// <summary>For the next batch: the node read ahead, once.</summary>
    public IdentityNode? Take(long profile) => _nodes.Remove(profile, out var n) ? n : null;
}
