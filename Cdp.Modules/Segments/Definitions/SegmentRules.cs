using Cdp.Modules.Segments.Language;

namespace Cdp.Modules.Segments.Definitions;

/// <summary>Rules every segment definition follows, from appsettings or from the API.</summary>
internal static class SegmentRules
{
    public const int MaxKeyLength = 64;
    public const int MaxNameLength = 200;

    /// <summary>Long enough for any hand-written condition; keeps a definition one small document.</summary>
    public const int MaxWhereLength = 10_000;

    /// <summary>Segments referencing segments: deep chains are hard to read and to evaluate in order.</summary>
    public const int MaxReferenceDepth = 10;

    public static string? KeyProblem(string key)
    {
        if (key.Length is 0 or > MaxKeyLength) return $"a segment key has 1 to {MaxKeyLength} characters";
        if (!char.IsAsciiLetterOrDigit(key[0]) || !key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            return "a segment key uses letters, digits, '-' and '_' and starts with a letter or digit";
        return null;
    }

    public static IEnumerable<SegmentReference> References(Condition c) => c switch
    {
        SegmentReference r => [r],
        AllOf a => a.Parts.SelectMany(References),
        AnyOf a => a.Parts.SelectMany(References),
        Negation n => References(n.Inner),
        _ => [],
    };

    public static IEnumerable<EventCondition> Events(Condition c) => c switch
    {
        EventCondition e => [e],
        AllOf a => a.Parts.SelectMany(Events),
        AnyOf a => a.Parts.SelectMany(Events),
        Negation n => Events(n.Inner),
        _ => [],
    };

    /// <summary>True when the condition reads profile traits or computed traits.</summary>
    public static bool ReadsProfile(Condition c) => c switch
    {
        ValueCondition => true,
        AllOf a => a.Parts.Any(ReadsProfile),
        AnyOf a => a.Parts.Any(ReadsProfile),
        Negation n => ReadsProfile(n.Inner),
        _ => false,
    };

    /// <summary>
    /// Unknown segments and cycles, as "line L, column C: ..." at the first offending reference; null when fine.
    /// <paramref name="lookup"/> gives the condition of another segment by key (null when unknown).
    /// </summary>
    public static string? ReferenceProblem(string key, Condition condition, Func<string, Condition?> lookup)
    {
        foreach (var r in References(condition))
        {
            if (string.Equals(r.Key, key, StringComparison.OrdinalIgnoreCase))
                return $"line {r.Line}, column {r.Column}: a segment cannot contain itself";
            if (lookup(r.Key) is null) return $"line {r.Line}, column {r.Column}: unknown segment \"{r.Key}\"";
            if (Cycle(key, r.Key, lookup, [key], 1) is { } path)
                return $"line {r.Line}, column {r.Column}: segments would form a cycle: {string.Join(" -> ", path)}";
        }
        return null;
    }

    private static List<string>? Cycle(string start, string current, Func<string, Condition?> lookup, List<string> path, int depth)
    {
        path = [.. path, current];
        if (string.Equals(current, start, StringComparison.OrdinalIgnoreCase)) return path;
        if (depth > MaxReferenceDepth) return path;
        if (lookup(current) is not { } c) return null;
        foreach (var r in References(c))
            if (Cycle(start, r.Key, lookup, path, depth + 1) is { } found) return found;
        return null;
    }
}
