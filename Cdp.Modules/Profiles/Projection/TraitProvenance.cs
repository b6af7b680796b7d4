using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Profiles.Api;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Options;
using Cdp.Modules.Identity.Contracts;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// "Why is this the email?": per trait leaf of a profile, the rule that chose its value and the event that gave it (log
/// sequence, source, messageId, time). A ruled trait's winner is stored with it (the candidates); a MostRecent trait keeps
/// nothing, so its event is looked up in the profile's newest events: the newest one with the leaf's timestamp that carried
/// that value.
/// </summary>
[Service]
internal sealed class TraitProvenance(IProfileStore db, IEventLog log, IOptions<ProfilesOptions> options)
{
    /// <summary>Newest events of a profile searched for MostRecent traits' events: bounds the cost of one request.</summary>
    public const int MaxEventsSearched = 5_000;

    /// <summary>Events per log read while searching (neighbours in the log cost one read).</summary>
    private const int LogReadSpan = 512;

    public TraitExplanation Explain(ProfileState p)
    {
        var policy = options.Value.Survivorship.Policy();
        var leaves = new List<Leaf>();
        Collect(p.Traits, p.TraitTimes, p.Survivors, policy.Everywhere, [], leaves);

        // ruled winners: the stored candidate names the event; MostRecent: search the newest events
        var open = leaves.Where(l => l.Sequence == 0 && l.Rule == SurvivorshipRule.MostRecent).ToList();
        var searched = 0;
        if (open.Count > 0) searched = Search(p.Profile, open);
        var bySequence = Events(leaves.Where(l => l.Sequence > 0).Select(l => l.Sequence).ToHashSet());

        var traits = new JsonArray();
        foreach (var l in leaves)
        {
            var o = new JsonObject
            {
                ["path"] = string.Join('.', l.Path),
                ["value"] = TreeJson.ToNode(l.Value),
                ["rule"] = l.Rule.ToString(),
                ["at"] = l.Ticks is { } t ? new DateTime(t, DateTimeKind.Utc) : null,
            };
            if (l.Sequence > 0 && bySequence.TryGetValue(l.Sequence, out var e))
            {
                o["sequence"] = l.Sequence;
                o["source"] = e.Source;
                o["messageId"] = e.MessageId;
            }
            else if (l.Sequence > 0)
            {
                o["sequence"] = l.Sequence;
                o["source"] = l.Source;
                o["note"] = "the event is no longer in the log";
            }
            else o["note"] = l.Rule == SurvivorshipRule.MostRecent
                ? $"no event with this value and time among the profile's newest {MaxEventsSearched:N0} events"
                : "the value was stored before this rule was configured; reprocess to trace it";
            if (l.Rule == SurvivorshipRule.SourcePriority) o["sources"] = new JsonArray(l.Node.Sources.Select(s => (JsonNode)s).ToArray());
            if (l.Candidates is { } candidates)
            {
                if (l.Rule == SurvivorshipRule.MostFrequent) o["count"] = l.Count;
                if (candidates.Count > 1)
                    o["candidates"] = new JsonArray(candidates.Select(c => (JsonNode)new JsonObject
                    {
                        ["value"] = TreeJson.ToNode(c.Value),
                        ["count"] = c.Count,
                        ["lastSeen"] = new DateTime(c.Ticks, DateTimeKind.Utc),
                        ["source"] = c.Source,
                        ["sequence"] = c.Sequence,
                    }).ToArray());
            }
            traits.Add(o);
        }
        return new TraitExplanation(ProfileIds.Format(p.Profile), policy.Everywhere.Rule.ToString(), searched, traits);
    }

    private sealed class Leaf(string[] path, TreeValue value, long? ticks, SurvivorshipNode node)
    {
        public string[] Path { get; } = path;
        public TreeValue Value { get; } = value;
        public long? Ticks { get; } = ticks;
        public SurvivorshipNode Node { get; } = node;
        public SurvivorshipRule Rule => Node.Rule;
        public long Sequence { get; set; }
        public string Source { get; set; } = "";
        public long Count { get; set; }
        public List<TraitCandidate>? Candidates { get; set; }
    }

    private static void Collect(TreeDocument traits, TreeDocument times, TreeDocument sv, SurvivorshipNode node, string[] path, List<Leaf> leaves)
    {
        foreach (var (name, value) in traits)
        {
            var child = node.Child(name);
            var time = times.TryGetValue(name, out var t) ? t : TreeValue.Null;
            var candidates = sv.TryGetValue(name, out var c) ? c : TreeValue.Null;
            string[] at = [.. path, name];
            if (value.IsDocument && time.IsDocument)
            {
                Collect(value.AsDocument, time.AsDocument, candidates.IsDocument ? candidates.AsDocument : new TreeDocument(), child, at, leaves);
                continue;
            }
            var leaf = new Leaf(at, value, time.IsNumber ? time.AsInt64 : null, child);
            if (child.Rule != SurvivorshipRule.MostRecent && candidates.IsArray && candidates.AsArray.Count > 0)
            {
                var list = candidates.AsArray.Select(TraitCandidate.From).ToList();
                leaf.Sequence = list[0].Sequence;
                leaf.Source = list[0].Source;
                leaf.Count = list[0].Count;
                leaf.Candidates = list;
            }
            leaves.Add(leaf);
        }
    }

    /// <summary>Finds the events of MostRecent leaves among the profile's newest events; returns how many were read.</summary>
    private int Search(long profile, List<Leaf> open)
    {
        var sequences = ProfileTimeline.All(db, profile);
        var searched = 0;
        var i = sequences.Count - 1;
        while (i >= 0 && open.Count > 0 && searched < MaxEventsSearched)
        {
            // a span of neighbouring sequences, newest first, read in one call
            var last = sequences[i];
            var span = 1;
            while (i - span >= 0 && last - sequences[i - span] < LogReadSpan && searched + span < MaxEventsSearched) span++;
            var wanted = new HashSet<long>(sequences.Skip(i - span + 1).Take(span));
            var first = sequences[i - span + 1];
            var events = log.ReadAfter(first - 1, (int)(last - first + 1)).Where(e => wanted.Contains(e.Sequence)).OrderByDescending(e => e.Sequence);
            foreach (var e in events)
            {
                Match(e, open);
                if (open.Count == 0) break;
            }
            searched += span;
            i -= span;
        }
        return searched;
    }

    /// <summary>Settles every open leaf this event carried with the leaf's value at the leaf's time.</summary>
    private void Match(LoggedEvent e, List<Leaf> open)
    {
        using var doc = JsonDocument.Parse(e.Json);
        var payload = doc.RootElement;
        var ticks = (payload.TryGetProperty("timestamp", out var ts) && ts.TryGetDateTime(out var t) ? t.ToUniversalTime() : e.ReceivedAt).Ticks;
        var type = payload.TryGetProperty("type", out var ty) && ty.ValueKind == JsonValueKind.String ? ty.GetString() : "track";
        var limits = options.Value.Limits;
        for (var k = open.Count - 1; k >= 0; k--)
        {
            var leaf = open[k];
            if (leaf.Ticks != ticks) continue;
            // applied in this order by the processor (context.traits, then an identify's traits): the later one wins
            var carried = (type == "identify" ? Find(payload, "traits", leaf.Path) : null) ?? Find(payload.TryGetProperty("context", out var ctx) && ctx.ValueKind == JsonValueKind.Object ? ctx : default, "traits", leaf.Path);
            if (carried is not { } v || !TraitSet.TryToTree(v, limits, limits.MaxTraitDepth, out var value, out _) || value != leaf.Value) continue;
            leaf.Sequence = e.Sequence;
            leaf.Source = e.Source;
            open.RemoveAt(k);
        }
    }

    private static JsonElement? Find(JsonElement parent, string property, string[] path)
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(property, out var cur)) return null;
        foreach (var s in path)
        {
            if (cur.ValueKind != JsonValueKind.Object || !cur.TryGetProperty(s, out cur)) return null;
        }
        return cur;
    }

    private Dictionary<long, LoggedEvent> Events(HashSet<long> sequences)
    {
        var found = new Dictionary<long, LoggedEvent>();
        foreach (var s in sequences)
            if (log.ReadAfter(s - 1, 1) is [var e] && e.Sequence == s) found[s] = e;
        return found;
    }
}

/// <summary>GET /api/profiles/{reference}/traits/why: per trait (path, value, rule, at, the event that gave it...), the default rule, events searched.</summary>
internal sealed record TraitExplanation(string Id, string Default, int EventsSearched, JsonArray Traits);
