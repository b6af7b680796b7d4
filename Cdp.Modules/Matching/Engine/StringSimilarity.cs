using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace Cdp.Modules.Matching.Engine;

/// <summary>
/// String comparators for the hot scoring path: span-based and allocation-free (bit masks or stack buffers;
/// the array pool only for strings longer than <see cref="StackLimit"/>).
/// </summary>
internal static class StringSimilarity
{
    /// <summary>Longer strings use pooled buffers instead of the stack.</summary>
    private const int StackLimit = 256;

    /// <summary>Winkler's prefix scale and longest rewarded prefix (the values of the original paper).</summary>
    private const double PrefixScale = 0.1;

    private const int MaxPrefix = 4;

    /// <summary>Winkler's boost threshold: the prefix bonus applies only above this Jaro similarity.</summary>
    private const double BoostThreshold = 0.7;

    /// <summary>Jaro-Winkler similarity in [0, 1]; 1 for equal strings, 0 when one is empty and the other not.</summary>
    public static double JaroWinkler(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        var jaro = Jaro(a, b);
        if (jaro <= BoostThreshold) return jaro;
        var max = Math.Min(MaxPrefix, Math.Min(a.Length, b.Length));
        var prefix = 0;
        while (prefix < max && a[prefix] == b[prefix]) prefix++;
        return jaro + prefix * PrefixScale * (1 - jaro);
    }

    /// <summary>
    /// An upper bound of Jaro-Winkler for two strings of the given lengths having at most <paramref name="common"/>
    /// matching characters and <paramref name="prefix"/> leading characters in common: Jaro with no transposition,
    /// then the prefix bonus (Jaro-Winkler grows with Jaro, so the bound holds). Lets a caller skip the comparison
    /// when the bound is below its threshold.
    /// </summary>
    public static double JaroWinklerUpperBound(int lengthA, int lengthB, int common, int prefix)
    {
        if (lengthA == 0 || lengthB == 0) return lengthA == lengthB ? 1 : 0;
        common = Math.Min(common, Math.Min(lengthA, lengthB));
        if (common == 0) return 0;
        var jaro = ((double)common / lengthA + (double)common / lengthB + 1.0) / 3.0;
        return jaro <= BoostThreshold ? jaro : jaro + Math.Min(MaxPrefix, prefix) * PrefixScale * (1 - jaro);
    }

    /// <summary>Jaro similarity in [0, 1]; transpositions are half the out-of-order matches rounded down (as jellyfish and RapidFuzz).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Jaro(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        if (a.Length == 0 || b.Length == 0) return a.Length == b.Length ? 1 : 0;
        if (a.SequenceEqual(b)) return 1;
        if (a.Length > b.Length)
        {
            var t = a;
            a = b;
            b = t;
        }
        // a is now the shorter string; the match window depends on the longer one.
        var window = Math.Max(0, b.Length / 2 - 1);
        return b.Length <= 64 ? JaroShort(a, b, window) : JaroLong(a, b, window);
    }

    /// <summary>
    /// Both strings at most 64 characters: the candidates for a[i] are one AND of bit masks (positions of that
    /// character in b, inside the window, not yet matched); the lowest bit is the first candidate, as in the
    /// textbook loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double JaroShort(ReadOnlySpan<char> a, ReadOnlySpan<char> b, int window)
    {
        if (!Ascii.IsValid(b)) return JaroShortAnyCharacters(a, b, window);
        var positions = PositionMasks();
        for (var j = 0; j < b.Length; j++) positions[b[j]] |= 1UL << j;
        ulong matchedA = 0, matchedB = 0;
        var matches = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var c = a[i];
            if (c >= AsciiLimit) continue;
            var lo = Math.Max(0, i - window);
            var hi = Math.Min(b.Length, i + window + 1);
            var candidates = positions[c] & ~matchedB & LowBits(hi) & ~LowBits(lo);
            if (candidates == 0) continue;
            matchedB |= candidates & (~candidates + 1);
            matchedA |= 1UL << i;
            matches++;
        }
        for (var j = 0; j < b.Length; j++) positions[b[j]] = 0;
        if (matches == 0) return 0;
        return Score(matches, Transpositions(a, b, matchedA, matchedB), a.Length, b.Length);
    }

    private static double JaroShortAnyCharacters(ReadOnlySpan<char> a, ReadOnlySpan<char> b, int window)
    {
        ulong matchedA = 0, matchedB = 0;
        var matches = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var lo = Math.Max(0, i - window);
            var hi = Math.Min(b.Length, i + window + 1);
            var c = a[i];
            for (var j = lo; j < hi; j++)
            {
                if ((matchedB & (1UL << j)) != 0 || b[j] != c) continue;
                matchedA |= 1UL << i;
                matchedB |= 1UL << j;
                matches++;
                break;
            }
        }
        if (matches == 0) return 0;
        return Score(matches, Transpositions(a, b, matchedA, matchedB), a.Length, b.Length);
    }

    /// <summary>Half the matched characters that are not in the same order in both strings.</summary>
    private static int Transpositions(ReadOnlySpan<char> a, ReadOnlySpan<char> b, ulong matchedA, ulong matchedB)
    {
        var transposed = 0;
        while (matchedA != 0)
        {
            var i = BitOperations.TrailingZeroCount(matchedA);
            var j = BitOperations.TrailingZeroCount(matchedB);
            if (a[i] != b[j]) transposed++;
            matchedA &= matchedA - 1;
            matchedB &= matchedB - 1;
        }
        return transposed / 2;
    }

    /// <summary>The lowest <paramref name="count"/> bits set (count 0..64).</summary>
    private static ulong LowBits(int count) => count >= 64 ? ulong.MaxValue : (1UL << count) - 1;

    /// <summary>Characters below this have a slot in the per-thread position-mask table.</summary>
    private const int AsciiLimit = 128;

    [ThreadStatic]
    private static ulong[]? t_positions;

    /// <summary>A per-thread table of 128 position masks, all zero between uses (each user clears what it set).</summary>
    private static ulong[] PositionMasks() => t_positions ??= new ulong[AsciiLimit];

    private static double JaroLong(ReadOnlySpan<char> a, ReadOnlySpan<char> b, int window)
    {
        bool[]? rented = null;
        var total = a.Length + b.Length;
        var flags = total <= StackLimit ? stackalloc bool[total] : (rented = ArrayPool<bool>.Shared.Rent(total)).AsSpan(0, total);
        flags.Clear();
        var matchedA = flags[..a.Length];
        var matchedB = flags[a.Length..];
        try
        {
            var matches = 0;
            for (var i = 0; i < a.Length; i++)
            {
                var lo = Math.Max(0, i - window);
                var hi = Math.Min(b.Length, i + window + 1);
                for (var j = lo; j < hi; j++)
                {
                    if (matchedB[j] || b[j] != a[i]) continue;
                    matchedA[i] = matchedB[j] = true;
                    matches++;
                    break;
                }
            }
            if (matches == 0) return 0;
            var transposed = 0;
            var k = 0;
            for (var i = 0; i < a.Length; i++)
            {
                if (!matchedA[i]) continue;
                while (!matchedB[k]) k++;
                if (a[i] != b[k]) transposed++;
                k++;
            }
            return Score(matches, transposed / 2, a.Length, b.Length);
        }
        finally
        {
            if (rented is not null) ArrayPool<bool>.Shared.Return(rented);
        }
    }

    private static double Score(int matches, int transpositions, int lengthA, int lengthB) =>
        ((double)matches / lengthA + (double)matches / lengthB + (double)(matches - transpositions) / matches) / 3.0;

    /// <summary>
    /// Damerau-Levenshtein distance in its optimal-string-alignment form (insert, delete, substitute, and
    /// transpose two adjacent characters, no substring edited twice: OSA("ca", "abc") = 3 where unrestricted
    /// Damerau-Levenshtein gives 2). Returns <paramref name="max"/> + 1 as soon as the distance must exceed
    /// <paramref name="max"/>, so a thresholded level costs little on dissimilar strings.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int OptimalStringAlignment(ReadOnlySpan<char> a, ReadOnlySpan<char> b, int max = int.MaxValue - 1)
    {
        // Common prefix and suffix never change the distance.
        var prefix = a.CommonPrefixLength(b);
        a = a[prefix..];
        b = b[prefix..];
        var suffix = 0;
        while (suffix < a.Length && suffix < b.Length && a[^(suffix + 1)] == b[^(suffix + 1)]) suffix++;
        a = a[..^suffix];
        b = b[..^suffix];
        if (a.Length > b.Length)
        {
            var t = a;
            a = b;
            b = t;
        }
        if (b.Length - a.Length > max) return max + 1;
        if (a.Length == 0) return Math.Min(b.Length, max + 1);
        if (a.Length <= 64 && Ascii.IsValid(a)) return Math.Min(OsaBitParallel(a, b), max + 1);
        return OsaDynamicProgramming(a, b, max);
    }

    /// <summary>
    /// Hyyrö's bit-vector algorithm for the optimal string alignment distance (2003, as in RapidFuzz): one column
    /// of the distance matrix per character of b, held as bit vectors of the (at most 64) characters of a.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int OsaBitParallel(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        var positions = PositionMasks();
        for (var i = 0; i < a.Length; i++) positions[a[i]] |= 1UL << i;
        ulong vp = ulong.MaxValue, vn = 0, d0 = 0, previous = 0;
        var distance = a.Length;
        var last = 1UL << (a.Length - 1);
        foreach (var c in b)
        {
            var pm = c < AsciiLimit ? positions[c] : 0;
            var transposition = ((~d0 & pm) << 1) & previous;
            d0 = (((pm & vp) + vp) ^ vp) | pm | vn | transposition;
            var hp = vn | ~(d0 | vp);
            var hn = d0 & vp;
            if ((hp & last) != 0) distance++;
            else if ((hn & last) != 0) distance--;
            hp = (hp << 1) | 1;
            hn <<= 1;
            vp = hn | ~(d0 | hp);
            vn = hp & d0;
            previous = pm;
        }
        for (var i = 0; i < a.Length; i++) positions[a[i]] = 0;
        return distance;
    }

    /// <summary>The textbook three-row dynamic programme, stopping once a whole row exceeds <paramref name="max"/>.</summary>
    internal static int OsaDynamicProgramming(ReadOnlySpan<char> a, ReadOnlySpan<char> b, int max)
    {
        if (a.Length > b.Length)
        {
            var t = a;
            a = b;
            b = t;
        }
        if (b.Length - a.Length > max) return max + 1;
        if (a.Length == 0) return Math.Min(b.Length, max + 1);

        var width = b.Length + 1;
        int[]? rented = null;
        var cells = 3 * width;
        var buffer = cells <= StackLimit ? stackalloc int[cells] : (rented = ArrayPool<int>.Shared.Rent(cells)).AsSpan(0, cells);
        try
        {
            var before = buffer[..width];          // row i-2
            var previous = buffer[width..(2 * width)]; // row i-1
            var current = buffer[(2 * width)..];    // row i
            for (var j = 0; j < width; j++) previous[j] = j;
            for (var i = 1; i <= a.Length; i++)
            {
                current[0] = i;
                var rowMin = i;
                var ca = a[i - 1];
                for (var j = 1; j < width; j++)
                {
                    var cb = b[j - 1];
                    var cost = ca == cb ? 0 : 1;
                    var d = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
                    if (i > 1 && j > 1 && ca == b[j - 2] && a[i - 2] == cb) d = Math.Min(d, before[j - 2] + 1);
                    current[j] = d;
                    if (d < rowMin) rowMin = d;
                }
                if (rowMin > max) return max + 1;
                var recycled = before;
                before = previous;
                previous = current;
                current = recycled;
            }
            return Math.Min(previous[b.Length], max + 1);
        }
        finally
        {
            if (rented is not null) ArrayPool<int>.Shared.Return(rented);
        }
    }
}
