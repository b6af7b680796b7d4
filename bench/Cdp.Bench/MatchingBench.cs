using System.Diagnostics;
using Cdp.Modules.Matching.Engine;

namespace Cdp.Bench;

/// <summary>
/// Probabilistic matching (issue 7): scored pairs per second against the same loop with exact-only comparisons,
/// a 5,000 x 5,000 linkage end to end, and clustered F1 on the labelled data sets next to the best F1 their
/// blocking allows (every true candidate pair found, nothing else).
/// </summary>
public sealed class MatchingBench : IBenchScenario
{
    public string Name => "Matching";

    public Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        var root = RepositoryRoot();
        var data = Path.Combine(root, "Cdp.Tests", "TestData", "linkage");
        var settings = Path.Combine(root, "bench", "matching");
        var figures = new List<BenchFigure>();

        var febrl = Settings(Path.Combine(settings, "febrl.json"));
        var dataset2 = EvaluationData.Read(Path.Combine(data, "febrl_dataset2.csv"), "rec_id", null, FebrlTruth);

        // Scoring speed: every pair of up to 5,000 records (no blocking), full comparisons vs exact-only.
        var records = context.Quick ? dataset2.Records.Take(2_000).ToList() : dataset2.Records;
        var full = ScoringSpeed(febrl, records);
        var exact = ScoringSpeed(ExactOnly(febrl), records);
        figures.Add(new BenchFigure("scored pairs/s (all pairs, FEBRL comparisons)", full, "pairs/s", Target: 1_000_000,
            CeilingName: "same loop, exact-only comparisons", Ceiling: exact));

        // 5k x 5k linkage: FEBRL dataset2 against a corrupted copy of itself.
        var (left, right, truth) = SyntheticLinkage.Make(dataset2, seed: 7);
        var linkRecords = left.Concat(right).ToList();
        var linkTime = EndToEnd(febrl, linkRecords, LinkType.Link, out var linkRun);
        var t = linkRun.Timings;
        Console.WriteLine(FormattableString.Invariant(
            $"   5k x 5k stages (ms): encode {t.Encode.TotalMilliseconds:F0}, blocking {t.Blocking.TotalMilliseconds:F0} ({linkRun.Candidates.Count:N0} pairs), compare {t.Compare.TotalMilliseconds:F0}, u sampling {t.U.TotalMilliseconds:F0}, EM {t.Em.TotalMilliseconds:F0} ({linkRun.Model.Sessions.Count} sessions, {linkRun.Model.Sessions.Sum(x => x.Iterations)} iterations, {linkRun.CandidatePatterns.Distinct().Count():N0} distinct comparison vectors), scoring {t.Scoring.TotalMilliseconds:F0}, clustering {t.Clustering.TotalMilliseconds:F0}"));
        EndToEnd(ExactOnly(febrl), linkRecords, LinkType.Link, out _); // warm-up of the reference path
        var exactTime = EndToEnd(ExactOnly(febrl), linkRecords, LinkType.Link, out _);
        figures.Add(new BenchFigure("5k x 5k linkage end to end", linkTime, "s", Target: 3, LowerIsBetter: true,
            CeilingName: "same run, exact-only comparisons", Ceiling: exactTime));
        figures.Add(Accuracy("5k x 5k linkage clustered F1", linkRun, truth, LinkType.Link, target: null));

        foreach (var (name, file, settingsFile, id, truthColumn, target) in new[]
        {
            ("FEBRL dataset1 clustered F1", "febrl_dataset1.csv", "febrl.json", "rec_id", (string?)null, 0.999),
            ("FEBRL dataset2 clustered F1", "febrl_dataset2.csv", "febrl.json", "rec_id", null, 0.999),
            ("fake_1000 clustered F1", "fake_1000.csv", "fake_1000.json", "unique_id", "cluster", 0.93),
        })
        {
            var set = EvaluationData.Read(Path.Combine(data, file), id, truthColumn, truthColumn is null ? FebrlTruth : null);
            var run = new MatchingEngine(Settings(Path.Combine(settings, settingsFile))).Run(set.Records);
            figures.Add(Accuracy(name, run, set.Truth, LinkType.Dedupe, target));
        }
        return Task.FromResult<IReadOnlyList<BenchFigure>>(figures);
    }

    private static readonly System.Text.RegularExpressions.Regex FebrlTruth = new(@"^rec-(\d+)-");

    private static double ScoringSpeed(MatchingOptions options, IReadOnlyList<MatchRecord> records)
    {
        var engine = new MatchingEngine(options);
        var run = engine.Run(records);
        var comparer = new PairComparer(run.Records);
        MatchingEngine.ScoreAllPairs(comparer, run.Scorer, LinkType.Dedupe, run.Plan.ReviewWeight); // warm-up
        var clock = Stopwatch.StartNew();
        var (scored, _) = MatchingEngine.ScoreAllPairs(comparer, run.Scorer, LinkType.Dedupe, run.Plan.ReviewWeight);
        return scored / clock.Elapsed.TotalSeconds;
    }

    private static double EndToEnd(MatchingOptions options, IReadOnlyList<MatchRecord> records, LinkType linkType, out MatchRun run)
    {
        var clock = Stopwatch.StartNew();
        run = new MatchingEngine(options).Run(records, linkType);
        return clock.Elapsed.TotalSeconds;
    }

    private static BenchFigure Accuracy(string name, MatchRun run, int[] truth, LinkType linkType, double? target)
    {
        var sources = run.Records.Sources;
        var f1 = LinkageEvaluation.Clustered(run.Clusters, truth, sources, linkType).F1;
        // The best this blocking allows: every true candidate pair merged and nothing else.
        var sets = new DisjointSets(run.Records.Count);
        for (var i = 0; i < run.Candidates.Count; i++)
            if (truth[run.Candidates.Left[i]] == truth[run.Candidates.Right[i]]) sets.Union(run.Candidates.Left[i], run.Candidates.Right[i]);
        var best = Enumerable.Range(0, run.Records.Count).Select(sets.Find).ToArray();
        var ceiling = LinkageEvaluation.Clustered(best, truth, sources, linkType).F1;
        return new BenchFigure(name, f1, "F1", Target: target, CeilingName: "blocking's best", Ceiling: ceiling);
    }

    private static MatchingOptions Settings(string path)
    {
        var (options, error) = EvaluationCommand.LoadSettings(path);
        return options ?? throw new InvalidOperationException(error);
    }

    /// <summary>The same comparisons, blocking and training with every level reduced to Null / Exact / Else.</summary>
    private static MatchingOptions ExactOnly(MatchingOptions options) => new()
    {
        Comparisons = [.. options.Comparisons.Select(c => new ComparisonOptions
        {
            Name = c.Name,
            Field = c.Field,
            Normalise = c.Normalise,
            TermFrequency = c.TermFrequency,
            Levels = [new() { Kind = "Null" }, new() { Kind = "Exact" }, new() { Kind = "Else" }],
        })],
        Blocking = options.Blocking,
        Thresholds = options.Thresholds,
        Training = options.Training,
    };

    private static string RepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Cdp.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException("Cdp.sln not found above the current directory");
    }
}

/// <summary>
/// A second file for a linkage benchmark: one corrupted copy of every record, FEBRL style (0 to 3 edits:
/// typos, blanked fields, swapped names, day/month swaps). Truth: a copy is the same person as its original.
/// </summary>
internal static class SyntheticLinkage
{
    private static readonly string[] Fields =
        ["given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state", "date_of_birth", "soc_sec_id"];

    public static (List<MatchRecord> Left, List<MatchRecord> Right, int[] Truth) Make(EvaluationData data, int seed)
    {
        var random = new Random(seed);
        var left = data.Records.Select(r => r with { Source = 0 }).ToList();
        var right = new List<MatchRecord>(left.Count);
        foreach (var record in data.Records)
        {
            var fields = new Dictionary<string, string?>(record.Fields);
            var edits = random.NextDouble() switch { < 0.2 => 0, < 0.6 => 1, < 0.85 => 2, _ => 3 };
            for (var e = 0; e < edits; e++) Corrupt(fields, random);
            right.Add(new MatchRecord(record.Id + "-copy", fields, Source: 1));
        }
        return (left, right, [.. data.Truth, .. data.Truth]);
    }

    private static void Corrupt(Dictionary<string, string?> fields, Random random)
    {
        var field = Fields[random.Next(Fields.Length)];
        var value = fields.GetValueOrDefault(field) ?? "";
        switch (random.Next(10))
        {
            case 0:
                fields[field] = "";
                break;
            case 1:
                (fields["given_name"], fields["surname"]) = (fields.GetValueOrDefault("surname"), fields.GetValueOrDefault("given_name"));
                break;
            case 2 when field == "date_of_birth" && value.Length == 8:
                fields[field] = value[..4] + value[6..8] + value[4..6];
                break;
            default:
                fields[field] = Typo(value, random);
                break;
        }
    }

    private static string Typo(string value, Random random)
    {
        if (value.Length < 2) return value + (char)('a' + random.Next(26));
        var i = random.Next(value.Length - 1);
        var c = char.IsAsciiDigit(value[i]) ? (char)('0' + random.Next(10)) : (char)('a' + random.Next(26));
        return random.Next(4) switch
        {
            0 => value.Remove(i, 1),
            1 => value.Insert(i, c.ToString()),
            2 => value[..i] + c + value[(i + 1)..],
            _ => value[..i] + value[i + 1] + value[i] + value[(i + 2)..],
        };
    }
}
