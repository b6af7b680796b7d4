using System.Runtime.CompilerServices;

namespace Cdp.Modules.Matching.Engine;

/// <summary>How many pairs a blocking rule found, and how many of them no earlier rule had found.</summary>
internal sealed record BlockingRuleReport(string Rule, long Pairs, long NewPairs);

/// <summary>
/// The candidate pairs: each unordered pair once (Left &lt; Right), with the first rule that found it, plus each
/// rule's key per record so a pair can be tested against any rule in O(1).
/// </summary>
internal sealed class CandidatePairs
{
    public required int Count { get; init; }

    public required int[] Left { get; init; }

    public required int[] Right { get; init; }

    /// <summary>Index of the first blocking rule whose keys the pair shares.</summary>
    public required byte[] Rule { get; init; }

    /// <summary>[rule][record] = the record's key id under that rule, or -1 when a key field is missing.</summary>
    public required int[][] RuleKeys { get; init; }

    public required BlockingRuleReport[] Report { get; init; }

    /// <summary>Every comparable pair (n(n-1)/2 when deduplicating): the denominator of the prior.</summary>
    public required long ComparablePairs { get; init; }

    public bool SharesKey(int rule, int a, int b)
    {
        var keys = RuleKeys[rule];
        return keys[a] >= 0 && keys[a] == keys[b];
    }
}

/// <summary>
/// Blocking: an OR of equality rules on normalised keys. Rules run in order; a pair already produced by an
/// earlier rule is skipped (tested on the earlier rules' keys, no pair set needed), so every candidate is unique.
/// </summary>
internal static class Blocking
{
    /// <param name="touching">Incremental matching: only pairs with at least one record marked here (null: every pair).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static CandidatePairs FindCandidates(EncodedRecords records, LinkType linkType, bool[]? touching = null)
    {
        if (touching is not null && linkType != LinkType.Dedupe) throw new ArgumentException("incremental blocking is for deduplication", nameof(touching));
        var plan = records.Plan;
        var n = records.Count;
        var sources = records.Sources;
        var ruleKeys = plan.BlockingRules.Select(r => KeysOf(records, r)).ToArray();

        // Count first so an over-broad rule fails before anything is allocated for it.
        var raw = ruleKeys.Select(keys => touching is null ? CountPairs(keys, sources, linkType) : CountTouchingPairs(keys, touching)).ToArray();
        var maxPairs = plan.Options.Training.MaxCandidatePairs;
        for (var r = 0; r < raw.Length; r++)
        {
            if (raw[r] > maxPairs)
                throw new InvalidOperationException(
                    $"blocking rule '{plan.BlockingRules[r].Name}' would produce {raw[r]:N0} candidate pairs, more than Training:MaxCandidatePairs ({maxPairs:N0}); add a key to it");
        }
        var capacity = (int)Math.Min(raw.Sum(), Array.MaxLength);
        var left = new int[capacity];
        var right = new int[capacity];
        var rule = new byte[capacity];
        var count = 0;
        var report = new BlockingRuleReport[ruleKeys.Length];

        for (var r = 0; r < ruleKeys.Length; r++)
        {
            var keys = ruleKeys[r];
            var (offsets, members) = Buckets(keys);
            long found = 0;
            var before = count;
            for (var k = 0; k + 1 < offsets.Length; k++)
            {
                var start = offsets[k];
                var end = offsets[k + 1];
                if (touching is not null && !AnyTouching(members, start, end, touching)) continue;
                for (var i = start; i < end; i++)
                {
                    var a = members[i];
                    for (var j = i + 1; j < end; j++)
                    {
                        var b = members[j];
                        if (linkType == LinkType.Link && sources[a] == sources[b]) continue;
                        if (touching is not null && !touching[a] && !touching[b]) continue;
                        found++;
                        if (FoundEarlier(ruleKeys, r, a, b)) continue;
                        left[count] = a;
                        right[count] = b;
                        rule[count] = (byte)r;
                        count++;
                    }
                }
            }
            report[r] = new BlockingRuleReport(plan.BlockingRules[r].Name, found, count - before);
        }

        return new CandidatePairs
        {
            Count = count,
            Left = left,
            Right = right,
            Rule = rule,
            RuleKeys = ruleKeys,
            Report = report,
            ComparablePairs = ComparablePairs(n, sources, linkType),
        };
    }

    public static long ComparablePairs(int n, int[] sources, LinkType linkType)
    {
        var all = (long)n * (n - 1) / 2;
        if (linkType == LinkType.Dedupe) return all;
        var sameSource = sources.GroupBy(s => s).Sum(g => (long)g.Count() * (g.Count() - 1) / 2);
        return all - sameSource;
    }

    private static bool FoundEarlier(int[][] ruleKeys, int rule, int a, int b)
    {
        for (var p = 0; p < rule; p++)
        {
            var keys = ruleKeys[p];
            if (keys[a] >= 0 && keys[a] == keys[b]) return true;
        }
        return false;
    }

    /// <summary>Interns each record's key tuple under a rule; -1 when any key field is missing (no pair on this rule).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int[] KeysOf(EncodedRecords records, CompiledBlockingRule rule)
    {
        var n = records.Count;
        int[]? combined = null;
        foreach (var key in rule.Keys)
        {
            var part = Intern(records.Column(key.Field), key.Prefix);
            if (combined is null)
            {
                combined = part;
                continue;
            }
            var pairs = new Dictionary<long, int>();
            for (var r = 0; r < n; r++)
            {
                if (combined[r] < 0 || part[r] < 0)
                {
                    combined[r] = -1;
                    continue;
                }
                var composite = ((long)combined[r] << 32) | (uint)part[r];
                if (!pairs.TryGetValue(composite, out var id)) pairs[composite] = id = pairs.Count;
                combined[r] = id;
            }
        }
        return combined ?? new int[n];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int[] Intern(string?[] column, int prefix)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        var result = new int[column.Length];
        for (var r = 0; r < column.Length; r++)
        {
            if (column[r] is not { } value)
            {
                result[r] = -1;
                continue;
            }
            var span = prefix > 0 && value.Length > prefix ? value.AsSpan(0, prefix) : value.AsSpan();
            if (!lookup.TryGetValue(span, out var id)) lookup[span] = id = ids.Count;
            result[r] = id;
        }
        return result;
    }

    /// <summary>Records grouped by key (counting sort, records ascending within a key).</summary>
    private static (int[] Offsets, int[] Members) Buckets(int[] keys)
    {
        var keyCount = keys.Length == 0 ? 0 : keys.Max() + 1;
        var offsets = new int[keyCount + 1];
        foreach (var k in keys)
            if (k >= 0) offsets[k + 1]++;
        for (var k = 0; k < keyCount; k++) offsets[k + 1] += offsets[k];
        var members = new int[offsets[keyCount]];
        var next = offsets[..keyCount];
        for (var r = 0; r < keys.Length; r++)
            if (keys[r] >= 0) members[next[keys[r]]++] = r;
        return (offsets, members);
    }

    private static bool AnyTouching(int[] members, int start, int end, bool[] touching)
    {
        for (var i = start; i < end; i++)
            if (touching[members[i]]) return true;
        return false;
    }

    /// <summary>Pairs of a rule with at least one touching record: per key, all pairs minus the pairs of untouched records.</summary>
    private static long CountTouchingPairs(int[] keys, bool[] touching)
    {
        var keyCount = keys.Length == 0 ? 0 : keys.Max() + 1;
        var sizes = new long[keyCount];
        var untouched = new long[keyCount];
        for (var r = 0; r < keys.Length; r++)
        {
            if (keys[r] < 0) continue;
            sizes[keys[r]]++;
            if (!touching[r]) untouched[keys[r]]++;
        }
        long pairs = 0;
        for (var k = 0; k < keyCount; k++) pairs += sizes[k] * (sizes[k] - 1) / 2 - untouched[k] * (untouched[k] - 1) / 2;
        return pairs;
    }

    /// <summary>Pairs a rule's keys would produce, from per-key counts (per key and source when linking).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long CountPairs(int[] keys, int[] sources, LinkType linkType)
    {
        var keyCount = keys.Length == 0 ? 0 : keys.Max() + 1;
        if (linkType == LinkType.Dedupe)
        {
            var sizes = new long[keyCount];
            foreach (var k in keys)
                if (k >= 0) sizes[k]++;
            return sizes.Sum(n => n * (n - 1) / 2);
        }
        var sourceIndex = sources.Distinct().Select((s, i) => (s, i)).ToDictionary(x => x.s, x => x.i);
        var sourceCount = sourceIndex.Count;
        var perSource = new long[keyCount * sourceCount];
        var total = new long[keyCount];
        for (var r = 0; r < keys.Length; r++)
        {
            if (keys[r] < 0) continue;
            perSource[keys[r] * sourceCount + sourceIndex[sources[r]]]++;
            total[keys[r]]++;
        }
        long pairs = 0;
        for (var k = 0; k < keyCount; k++)
        {
            long same = 0;
            for (var s = 0; s < sourceCount; s++) same += perSource[k * sourceCount + s] * perSource[k * sourceCount + s];
            pairs += (total[k] * total[k] - same) / 2;
        }
        return pairs;
    }
}
