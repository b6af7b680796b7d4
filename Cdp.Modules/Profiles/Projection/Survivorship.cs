
namespace Cdp.Modules.Profiles.Projection;

/// <summary>Which value of a trait survives when events and merged profiles disagree (<c>Cdp:Profiles:Survivorship</c>).</summary>
internal enum SurvivorshipRule
{
    /// <summary>The newest event timestamp wins (equal: the later event). The default; keeps no candidates.</summary>
    MostRecent,

    /// <summary>The value the most events carried, across every merged profile; a tie: the most recently seen of them.</summary>
    MostFrequent,

    /// <summary>The value of the earliest event timestamp (a backdated import can still replace it).</summary>
    FirstSeen,

    /// <summary>The longest value (a string's trimmed length, an array's elements, else its JSON text); a tie: the most recent.</summary>
    Longest,

    /// <summary>The value from the strongest source of the rule's list (unlisted sources rank last); within a source the most recent.</summary>
    SourcePriority,

    /// <summary>The value that reached the event log first (lowest sequence), whatever the timestamps the events claim.</summary>
    NeverOverwrite,
}

internal static class SurvivorshipRules
{
    public static readonly string Names = string.Join(", ", Enum.GetNames<SurvivorshipRule>());

    public static SurvivorshipRule? Parse(string? name) =>
        Enum.TryParse<SurvivorshipRule>(name, ignoreCase: false, out var r) && Enum.IsDefined(r) && !int.TryParse(name, out _) ? r : null;

    public static bool IsRule(string? name) => Parse(name) is not null;

    public static bool IsPath(string? path) => !string.IsNullOrWhiteSpace(path) && path.Split('.').All(s => s.Length > 0);
}

/// <summary>
/// A trait path's rule: a node per configured path segment. A node without an entry of its own inherits its parent's rule,
/// so a rule on an object covers every leaf under it; <see cref="Ruled"/> says whether this node or one below it keeps
/// candidates (a MostRecent-only subtree takes today's path at no cost).
/// </summary>
internal sealed class SurvivorshipNode
{
    public SurvivorshipRule Rule { get; private set; }

    /// <summary>SourcePriority's order, strongest first.</summary>
    public string[] Sources { get; private set; } = [];

    public bool Ruled { get; private set; }

    private Dictionary<string, SurvivorshipNode>? _children;
    private SurvivorshipNode? _inherited;

    /// <summary>The node of the child trait <paramref name="name"/>.</summary>
    public SurvivorshipNode Child(string name) =>
        _children is not null && _children.TryGetValue(name, out var c) ? c : _inherited ??= new SurvivorshipNode { Rule = Rule, Sources = Sources, Ruled = Rule != SurvivorshipRule.MostRecent };

    public static SurvivorshipNode Build(SurvivorshipOptions options)
    {
        var root = new SurvivorshipNode { Rule = SurvivorshipRules.Parse(options.Default) ?? SurvivorshipRule.MostRecent, Sources = options.Sources.ToArray() };
        // shorter paths first: a node takes its parent's rule when created, then its own entry (if any) overrides it
        var explicitNodes = new HashSet<SurvivorshipNode>();
        foreach (var (path, t) in options.Traits.OrderBy(t => t.Key.Count(c => c == '.')).ThenBy(t => t.Key, StringComparer.Ordinal))
        {
            var node = root;
            foreach (var segment in path.Split('.'))
            {
                node._children ??= new Dictionary<string, SurvivorshipNode>(StringComparer.Ordinal);
                if (!node._children.TryGetValue(segment, out var child))
                    node._children[segment] = child = new SurvivorshipNode { Rule = node.Rule, Sources = node.Sources };
                node = child;
            }
            node.Rule = SurvivorshipRules.Parse(t.Rule) ?? SurvivorshipRule.MostRecent;
            node.Sources = t.Sources.Count > 0 ? t.Sources.ToArray() : options.Sources.ToArray();
            explicitNodes.Add(node);
            Inherit(node, explicitNodes);
        }
        root.Mark();
        return root;
    }

    /// <summary>Children created before <paramref name="node"/> got its own rule inherit it, unless they have their own entry.</summary>
    private static void Inherit(SurvivorshipNode node, HashSet<SurvivorshipNode> explicitNodes)
    {
        if (node._children is null) return;
        foreach (var c in node._children.Values)
        {
            if (explicitNodes.Contains(c)) continue;
            c.Rule = node.Rule;
            c.Sources = node.Sources;
            Inherit(c, explicitNodes);
        }
    }

    private bool Mark()
    {
        var ruled = Rule != SurvivorshipRule.MostRecent;
        if (_children is not null)
            foreach (var c in _children.Values) ruled |= c.Mark();
        Ruled = ruled;
        return ruled;
    }
}

/// <summary>The configured rules: <see cref="Root"/> is null when every trait is MostRecent (then nothing changes on the hot path).</summary>
internal sealed class SurvivorshipPolicy
{
    public SurvivorshipPolicy(SurvivorshipOptions options)
    {
        MaxCandidates = options.MaxCandidates;
        var root = SurvivorshipNode.Build(options);
        Root = root.Ruled ? root : null;
        Everywhere = root;
    }

    public SurvivorshipNode? Root { get; }

    /// <summary>The rule tree even when it is all MostRecent (for the "why" view).</summary>
    public SurvivorshipNode Everywhere { get; }

    public int MaxCandidates { get; }

    /// <summary>The rule of a trait path (segments).</summary>
    public SurvivorshipNode NodeOf(IEnumerable<string> path)
    {
        var n = Everywhere;
        foreach (var s in path) n = n.Child(s);
        return n;
    }
}

/// <summary>The event a trait value comes from, for the candidates: its log sequence and its source (a Cdp:Sources name).</summary>
internal readonly record struct TraitOrigin(long Sequence, string Source);

/// <summary>
/// One value a ruled trait leaf has seen, stored in the profile's "sv" document (same shape as the traits, a leaf is an array
/// of candidates, winner first): v value, t newest event timestamp (ticks) that carried it, q that event's log sequence,
/// s its source, n the events that carried it (MostFrequent only). Single-winner rules keep one candidate: the winner.
/// Every order below is total (ties end on the sequence, then the value), so the result does not depend on the order in
/// which events and merged profiles come in: a merge gives what applying all the events to one profile gives.
/// </summary>
internal struct TraitCandidate
{
    public TreeValue Value;
    public long Ticks;
    public long Sequence;
    public string Source;
    public long Count;

    public static TraitCandidate From(TreeValue c)
    {
        var d = c.AsDocument;
        return new TraitCandidate
        {
            Value = d["v"],
            Ticks = d["t"].AsInt64,
            Sequence = d["q"].AsInt64,
            Source = d["s"].IsString ? d["s"].AsString : "",
            Count = d.TryGetValue("n", out var n) && n.IsNumber ? n.AsInt64 : 1,
        };
    }

    public readonly TreeDocument ToTree(bool counted)
    {
        var d = new TreeDocument { ["v"] = Value, ["t"] = Ticks, ["q"] = Sequence, ["s"] = Source };
        if (counted) d["n"] = Count;
        return d;
    }

    /// <summary>Longest's measure: a string's trimmed length, an array's element count, any other value's JSON text length.</summary>
    public static int Length(TreeValue v) => v.Type switch
    {
        TreeType.String => v.AsString.Trim().Length,
        TreeType.Array => v.AsArray.Count,
        _ => v.ToString().Length,
    };

    /// <summary>Null and blank strings are no value: they never become a candidate of a ruled trait.</summary>
    public static bool IsBlank(TreeValue v) => v.IsNull || (v.IsString && string.IsNullOrWhiteSpace(v.AsString));
}

internal static class TraitCandidates
{
    /// <summary>The candidates of <paramref name="a"/> and <paramref name="b"/> under the rule, winner first, bounded for MostFrequent.</summary>
    public static TreeArray Combine(SurvivorshipNode node, int maxCandidates, TreeArray a, TreeArray b)
    {
        var all = new List<TraitCandidate>(a.Count + b.Count);
        foreach (var c in a) all.Add(TraitCandidate.From(c));
        if (node.Rule == SurvivorshipRule.MostFrequent)
        {
            foreach (var c in b)
            {
                var x = TraitCandidate.From(c);
                var i = all.FindIndex(y => y.Value == x.Value);
                if (i < 0) { all.Add(x); continue; }
                var y = all[i];
                var newer = Newer(x, y) ? x : y;
                all[i] = newer with { Count = x.Count + y.Count };
            }
            all.Sort(MostFrequentFirst);
            // past the bound the least frequent value (the least recent among equals) is forgotten
            if (all.Count > maxCandidates) all.RemoveRange(maxCandidates, all.Count - maxCandidates);
            var counted = new TreeArray();
            foreach (var c in all) counted.Add(c.ToTree(true));
            return counted;
        }
        foreach (var c in b) all.Add(TraitCandidate.From(c));
        if (all.Count == 0) return [];
        var best = all[0];
        for (var i = 1; i < all.Count; i++)
            if (Before(node, all[i], best)) best = all[i];
        return [best.ToTree(false)];
    }

    private static bool Newer(TraitCandidate x, TraitCandidate y) => x.Ticks != y.Ticks ? x.Ticks > y.Ticks : x.Sequence != y.Sequence ? x.Sequence > y.Sequence : x.Value.CompareTo(y.Value) > 0;

    private static int MostFrequentFirst(TraitCandidate x, TraitCandidate y) =>
        x.Count != y.Count ? y.Count.CompareTo(x.Count) : x.Ticks != y.Ticks ? y.Ticks.CompareTo(x.Ticks) : x.Sequence != y.Sequence ? y.Sequence.CompareTo(x.Sequence) : y.Value.CompareTo(x.Value);

    /// <summary>Whether <paramref name="x"/> wins over <paramref name="y"/> under a single-winner rule.</summary>
    private static bool Before(SurvivorshipNode node, TraitCandidate x, TraitCandidate y)
    {
        switch (node.Rule)
        {
            case SurvivorshipRule.FirstSeen:
                if (x.Ticks != y.Ticks) return x.Ticks < y.Ticks;
                if (x.Sequence != y.Sequence) return x.Sequence < y.Sequence;
                return x.Value.CompareTo(y.Value) < 0;
            case SurvivorshipRule.NeverOverwrite:
                if (x.Sequence != y.Sequence) return x.Sequence < y.Sequence;
                if (x.Ticks != y.Ticks) return x.Ticks < y.Ticks;
                return x.Value.CompareTo(y.Value) < 0;
            case SurvivorshipRule.Longest:
                var (lx, ly) = (TraitCandidate.Length(x.Value), TraitCandidate.Length(y.Value));
                if (lx != ly) return lx > ly;
                return Newer(x, y);
            case SurvivorshipRule.SourcePriority:
                var (rx, ry) = (Rank(node, x.Source), Rank(node, y.Source));
                if (rx != ry) return rx < ry;
                return Newer(x, y);
            default:
                return Newer(x, y);
        }
    }

    private static int Rank(SurvivorshipNode node, string source)
    {
        var i = Array.IndexOf(node.Sources, source);
        return i < 0 ? node.Sources.Length : i;
    }

    /// <summary>The candidate of one event's value.</summary>
    public static TreeArray Of(TreeValue value, long ticks, TraitOrigin origin) =>
        [new TraitCandidate { Value = value, Ticks = ticks, Sequence = origin.Sequence, Source = origin.Source, Count = 1 }.ToTree(true)];

    /// <summary>
    /// A leaf that has a value but no candidates (written before its rule was configured): its value becomes a candidate of
    /// sequence 0 and no source. Empty when there is no leaf value.
    /// </summary>
    public static TreeArray Seed(TreeDocument traits, TreeDocument times, string name) =>
        traits.TryGetValue(name, out var v) && !v.IsDocument && !TraitCandidate.IsBlank(v) && times.TryGetValue(name, out var t) && t.IsNumber
            ? [new TraitCandidate { Value = v, Ticks = t.AsInt64, Sequence = 0, Source = "", Count = 1 }.ToTree(true)]
            : [];
}
