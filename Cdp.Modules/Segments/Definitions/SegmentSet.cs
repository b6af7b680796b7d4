using Cdp.Modules.Segments.Language;

namespace Cdp.Modules.Segments.Definitions;

internal enum SegmentOrigin { Config, Api }

/// <summary>A definition as stored and parsed. <see cref="No"/> is its stable internal number (member collection, counters).</summary>
internal sealed record CompiledSegment(
    int No, string Key, string Name, string? Description, string Where, SegmentOrigin Origin, Condition Condition,
    DateTime CreatedAt, DateTime UpdatedAt, bool Built, string? Problem)
{
    public IReadOnlyList<string> References { get; } = SegmentRules.References(Condition).Select(r => r.Key).Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    public bool ReadsProfile { get; } = SegmentRules.ReadsProfile(Condition);
}

/// <summary>A counted event condition (shared by every condition with the same selector and filter) and how many days it keeps.</summary>
internal sealed record CounterSpec(string Id, EventCondition Condition, int RetentionDays);

/// <summary>An immutable snapshot of every segment, dependencies first, with the counters they need.</summary>
internal sealed class SegmentSet
{
    public static readonly SegmentSet Empty = new([]);

    public SegmentSet(IReadOnlyList<CompiledSegment> segments)
    {
        Ordered = Order(segments);
        ByKey = segments.ToDictionary(s => s.Key, StringComparer.OrdinalIgnoreCase);
        ByNo = segments.ToDictionary(s => s.No);
        Counters = segments.Where(s => s.Problem is null).SelectMany(s => SegmentRules.Events(s.Condition))
            .GroupBy(e => e.CounterId)
            .Select(g => new CounterSpec(g.Key, g.First(), g.Max(e => e.Window.Retention)))
            .ToList();
        CountersById = Counters.ToDictionary(c => c.Id);
        ReadsProfile = segments.Any(s => s.ReadsProfile);
    }

    public IReadOnlyList<CompiledSegment> Ordered { get; }

    public IReadOnlyDictionary<string, CompiledSegment> ByKey { get; }

    public IReadOnlyDictionary<int, CompiledSegment> ByNo { get; }

    public IReadOnlyList<CounterSpec> Counters { get; }

    public IReadOnlyDictionary<string, CounterSpec> CountersById { get; }

    public bool ReadsProfile { get; }

    /// <summary>The segments that depend (directly or not) on any of <paramref name="keys"/>, including them.</summary>
    public HashSet<int> WithDependents(IEnumerable<int> numbers)
    {
        var result = new HashSet<int>(numbers);
        bool grew;
        do
        {
            grew = false;
            foreach (var s in Ordered)
                if (!result.Contains(s.No) && s.References.Any(r => ByKey.TryGetValue(r, out var d) && result.Contains(d.No)))
                    grew = result.Add(s.No);
        } while (grew);
        return result;
    }

    /// <summary>Dependencies before dependents (definitions are acyclic: checked when they are saved).</summary>
    private static List<CompiledSegment> Order(IReadOnlyList<CompiledSegment> segments)
    {
        var byKey = segments.ToDictionary(s => s.Key, StringComparer.OrdinalIgnoreCase);
        var ordered = new List<CompiledSegment>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var s in segments.OrderBy(s => s.No)) Visit(s, 0);
        return ordered;

        void Visit(CompiledSegment s, int depth)
        {
            if (!seen.Add(s.Key) || depth > SegmentRules.MaxReferenceDepth + 1) return;
            foreach (var r in s.References) if (byKey.TryGetValue(r, out var d)) Visit(d, depth + 1);
            ordered.Add(s);
        }
    }
}
