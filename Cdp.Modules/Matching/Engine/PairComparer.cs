using System.Runtime.CompilerServices;

namespace Cdp.Modules.Matching.Engine;

/// <summary>
/// Compares two encoded records: each comparison yields the first of its levels that holds, and the levels are
/// packed 4 bits per comparison into a ulong (the pair's comparison vector, "gamma"). Exact is an integer test on
/// interned ids; string similarities run only when a level needs them, at most once per comparison.
/// </summary>
internal sealed class PairComparer
{
    public const int BitsPerLevel = 4;
    public const ulong LevelMask = 0xF;

    private readonly int[] _values;
    private readonly int _stride;
    private readonly ComparisonLevel[][] _levels;
    private readonly ValueTable[] _tables;
    private readonly int[] _maxDistance;
    private readonly double[] _minJaroWinkler;

    public PairComparer(EncodedRecords records)
    {
        Records = records;
        _values = records.Values;
        _stride = records.Plan.SlotCount;
        _tables = records.Tables;
        _levels = [.. records.Plan.Comparisons.Select(c => c.Levels)];
        _maxDistance = [.. _levels.Select(l => l.Where(x => x.Kind == LevelKind.DamerauLevenshtein).Select(x => x.MaxDistance).DefaultIfEmpty(0).Max())];
        _minJaroWinkler = [.. _levels.Select(l => l.Where(x => x.Kind == LevelKind.JaroWinkler).Select(x => x.Threshold).DefaultIfEmpty(1).Min())];
    }

    public EncodedRecords Records { get; }

    public int ComparisonCount => _levels.Length;

    public static int LevelOf(ulong pattern, int comparison) => (int)((pattern >> (comparison * BitsPerLevel)) & LevelMask);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ulong Compare(int a, int b)
    {
        var baseA = a * _stride;
        var baseB = b * _stride;
        ulong pattern = 0;
        for (var c = 0; c < _levels.Length; c++)
            pattern |= (ulong)Level(c, baseA, baseB) << (c * BitsPerLevel);
        return pattern;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Level(int c, int baseA, int baseB)
    {
        var va = _values[baseA + c];
        var vb = _values[baseB + c];
        if (va < 0 || vb < 0) return 0;
        var levels = _levels[c];
        var jaroWinkler = double.NaN;
        var distance = -1;
        for (var l = 1; l < levels.Length; l++)
        {
            ref readonly var level = ref levels[l];
            switch (level.Kind)
            {
                case LevelKind.Exact:
                    if (va == vb) return l;
                    break;
                case LevelKind.JaroWinkler:
                    if (va == vb) return l;
                    if (double.IsNaN(jaroWinkler))
                    {
                        // A cheap bound first: most dissimilar pairs never reach the string loop.
                        jaroWinkler = JaroWinklerBound(c, va, vb) < _minJaroWinkler[c] ? 0 : JaroWinkler(c, va, vb);
                    }
                    if (jaroWinkler >= level.Threshold) return l;
                    break;
                case LevelKind.DamerauLevenshtein:
                    if (va == vb) return l;
                    if (distance < 0)
                    {
                        var table = _tables[c];
                        // Bag distance (characters not in common) is a lower bound of the edit distance.
                        var common = table.CommonCharacters(va, vb);
                        distance = Math.Max(table.Length(va), table.Length(vb)) - common > _maxDistance[c]
                            ? _maxDistance[c] + 1
                            : StringSimilarity.OptimalStringAlignment(table.Span(va), table.Span(vb), _maxDistance[c]);
                    }
                    if (distance <= level.MaxDistance) return l;
                    break;
                case LevelKind.DateTolerance:
                    {
                        var table = _tables[c];
                        if (DateValue.WithinTolerance(table.DateCodes[va], table.DayNumbers[va], table.DateCodes[vb], table.DayNumbers[vb], level.Days, level.DayMonthSwap))
                            return l;
                        break;
                    }
                case LevelKind.Swapped:
                    {
                        // Cross 1: this record's field against the other's With field; cross 2 the reverse.
                        // Holds when one cross agrees and the other agrees too or cannot be compared (missing).
                        if (va == vb) break;
                        var wa = _values[baseA + level.WithSlot];
                        var wb = _values[baseB + level.WithSlot];
                        var cross1 = wb < 0 ? Cross.Missing : Agrees(c, va, wb, level.Threshold);
                        var cross2 = wa < 0 ? Cross.Missing : Agrees(c, vb, wa, level.Threshold);
                        if (cross1 != Cross.Disagrees && cross2 != Cross.Disagrees && (cross1 == Cross.Agrees || cross2 == Cross.Agrees)) return l;
                        break;
                    }
                case LevelKind.Else:
                    return l;
            }
        }
        return levels.Length - 1;
    }

    private enum Cross
    {
        Agrees,
        Disagrees,
        Missing,
    }

    private Cross Agrees(int c, int x, int y, double threshold)
    {
        if (x == y) return Cross.Agrees;
        if (threshold <= 0 || JaroWinklerBound(c, x, y) < threshold) return Cross.Disagrees;
        return JaroWinkler(c, x, y) >= threshold ? Cross.Agrees : Cross.Disagrees;
    }

    private double JaroWinkler(int c, int x, int y)
    {
        var table = _tables[c];
        return StringSimilarity.JaroWinkler(table.Span(x), table.Span(y));
    }

    /// <summary>
    /// An upper bound of Jaro-Winkler: Jaro with every common character (as a bag) matched and no transposition,
    /// plus the Winkler bonus for the actual common prefix.
    /// </summary>
    private double JaroWinklerBound(int c, int x, int y)
    {
        var table = _tables[c];
        var common = table.CommonCharacters(x, y);
        if (common == 0) return 0;
        var a = table.Span(x);
        var b = table.Span(y);
        return StringSimilarity.JaroWinklerUpperBound(a.Length, b.Length, common, a.CommonPrefixLength(b));
    }
}
