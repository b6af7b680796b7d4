using System.Text;
using Cdp.Modules.Matching.Engine;

namespace Cdp.Tests.Matching.Engine;

public sealed class StringSimilarityTests
{
    [Theory]
    [InlineData("MARTHA", "MARHTA", 0.9444, 0.9611)]
    [InlineData("DWAYNE", "DUANE", 0.8222, 0.8400)]
    [InlineData("DIXON", "DICKSONX", 0.7667, 0.8133)]
    [InlineData("JELLYFISH", "SMELLYFISH", 0.8963, 0.8963)]
    public void Jaro_and_Jaro_Winkler_give_the_published_values(string a, string b, double jaro, double jaroWinkler)
    {
        StringSimilarity.Jaro(a, b).Should().BeApproximately(jaro, 0.0001);
        StringSimilarity.JaroWinkler(a, b).Should().BeApproximately(jaroWinkler, 0.0001);
        StringSimilarity.JaroWinkler(b, a).Should().BeApproximately(jaroWinkler, 0.0001);
    }

    [Fact]
    public void Jaro_Winkler_is_one_for_equal_strings_and_zero_without_common_characters()
    {
        StringSimilarity.JaroWinkler("smith", "smith").Should().Be(1);
        StringSimilarity.JaroWinkler("", "").Should().Be(1);
        StringSimilarity.JaroWinkler("abc", "").Should().Be(0);
        StringSimilarity.JaroWinkler("abc", "xyz").Should().Be(0);
    }

    [Fact]
    public void Jaro_Winkler_agrees_with_the_textbook_algorithm_on_short_long_and_non_ascii_strings()
    {
        var random = new Random(3);
        for (var i = 0; i < 3_000; i++)
        {
            var a = RandomText(random, random.Next(0, i % 3 == 0 ? 90 : 12), i % 5 == 0);
            var b = Mutate(random, a, i % 7 == 0);
            StringSimilarity.JaroWinkler(a, b).Should().BeApproximately(TextbookJaroWinkler(a, b), 1e-12, $"'{a}' vs '{b}'");
        }
    }

    [Theory]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("ab", "ba", 1)]
    [InlineData("abc", "acb", 1)]
    [InlineData("CA", "ABC", 3)] // optimal string alignment; unrestricted Damerau-Levenshtein says 2
    [InlineData("", "abc", 3)]
    [InlineData("19620316", "19620361", 1)]
    [InlineData("19620316", "19621603", 4)] // a day/month swap is not a small edit: DateTolerance handles it
    [InlineData("smith", "smith", 0)]
    public void Optimal_string_alignment_gives_the_known_distances(string a, string b, int distance)
    {
        StringSimilarity.OptimalStringAlignment(a, b).Should().Be(distance);
        StringSimilarity.OptimalStringAlignment(b, a).Should().Be(distance);
    }

    [Fact]
    public void Optimal_string_alignment_stops_at_max_plus_one()
    {
        StringSimilarity.OptimalStringAlignment("abcdef", "uvwxyz", max: 2).Should().Be(3);
        StringSimilarity.OptimalStringAlignment("abcdef", "abcdxy", max: 2).Should().Be(2);
        StringSimilarity.OptimalStringAlignment("a", "abcdef", max: 1).Should().Be(2);
    }

    [Fact]
    public void Bit_parallel_distance_agrees_with_the_dynamic_programme_on_random_strings()
    {
        var random = new Random(5);
        for (var i = 0; i < 5_000; i++)
        {
            var a = RandomText(random, random.Next(0, i % 4 == 0 ? 80 : 10), i % 9 == 0, alphabet: "abcd");
            var b = Mutate(random, a, i % 11 == 0);
            StringSimilarity.OptimalStringAlignment(a, b).Should().Be(StringSimilarity.OsaDynamicProgramming(a, b, int.MaxValue - 1), $"'{a}' vs '{b}'");
        }
    }

    [Fact]
    public void Character_bag_bounds_never_cut_off_a_similar_pair()
    {
        var random = new Random(9);
        var values = Enumerable.Range(0, 400).Select(i => RandomText(random, random.Next(1, i % 10 == 0 ? 70 : 12), i % 13 == 0)).ToList();
        values.AddRange(values.Select(v => Mutate(random, v, false)).ToList());
        var table = new ValueTable(dates: false);
        var ids = values.Select(v => table.Intern(v, counted: true)).ToArray();
        table.Freeze();
        for (var i = 0; i < 4_000; i++)
        {
            var (x, y) = (ids[random.Next(ids.Length)], ids[random.Next(ids.Length)]);
            var (a, b) = (table.Value(x), table.Value(y));
            var common = table.CommonCharacters(x, y);
            StringSimilarity.JaroWinklerUpperBound(a.Length, b.Length, common, a.AsSpan().CommonPrefixLength(b))
                .Should().BeGreaterThanOrEqualTo(StringSimilarity.JaroWinkler(a, b) - 1e-12, $"'{a}' vs '{b}'");
            (Math.Max(a.Length, b.Length) - common).Should().BeLessThanOrEqualTo(StringSimilarity.OptimalStringAlignment(a, b), $"'{a}' vs '{b}'");
        }
    }

    private static string RandomText(Random random, int length, bool nonAscii, string alphabet = "abcdefghij ")
    {
        var sb = new StringBuilder();
        for (var i = 0; i < length; i++) sb.Append(nonAscii && random.Next(4) == 0 ? "éøßπ"[random.Next(4)] : alphabet[random.Next(alphabet.Length)]);
        return sb.ToString();
    }

    private static string Mutate(Random random, string value, bool nonAscii)
    {
        var chars = new List<char>(value);
        for (var edits = random.Next(0, 4); edits > 0; edits--)
        {
            var c = nonAscii && random.Next(3) == 0 ? 'ü' : (char)('a' + random.Next(10));
            var i = chars.Count == 0 ? 0 : random.Next(chars.Count);
            switch (random.Next(4))
            {
                case 0: chars.Insert(i, c); break;
                case 1 when chars.Count > 0: chars.RemoveAt(i); break;
                case 2 when chars.Count > 0: chars[i] = c; break;
                case 3 when i + 1 < chars.Count: (chars[i], chars[i + 1]) = (chars[i + 1], chars[i]); break;
            }
        }
        return new string([.. chars]);
    }

    /// <summary>Jaro-Winkler as usually written (iterating the first string), for comparison.</summary>
    private static double TextbookJaroWinkler(string s1, string s2)
    {
        if (s1.Length == 0 || s2.Length == 0) return s1.Length == s2.Length ? 1 : 0;
        if (s1 == s2) return 1;
        var (a, b) = s1.Length <= s2.Length ? (s1, s2) : (s2, s1);
        var window = Math.Max(0, b.Length / 2 - 1);
        var ma = new bool[a.Length];
        var mb = new bool[b.Length];
        var m = 0;
        for (var i = 0; i < a.Length; i++)
            for (var j = Math.Max(0, i - window); j < Math.Min(b.Length, i + window + 1); j++)
                if (!mb[j] && a[i] == b[j]) { ma[i] = mb[j] = true; m++; break; }
        if (m == 0) return 0;
        var t = 0;
        var k = 0;
        for (var i = 0; i < a.Length; i++)
        {
            if (!ma[i]) continue;
            while (!mb[k]) k++;
            if (a[i] != b[k]) t++;
            k++;
        }
        var jaro = ((double)m / a.Length + (double)m / b.Length + (double)(m - t / 2) / m) / 3;
        if (jaro <= 0.7) return jaro;
        var p = 0;
        while (p < Math.Min(4, a.Length) && s1[p] == s2[p]) p++;
        return jaro + p * 0.1 * (1 - jaro);
    }
}
