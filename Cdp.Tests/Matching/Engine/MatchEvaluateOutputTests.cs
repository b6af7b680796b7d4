using System.Globalization;
using System.Text.RegularExpressions;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Matching.Engine;
using Cdp.Tests.Support;
using CsvHelper;
using Cdp.Modules.Matching.Contracts;
using static Cdp.Tests.Matching.Engine.MatchingTestSettings;

namespace Cdp.Tests.Matching.Engine;

/// <summary>
/// <c>match evaluate</c>'s prediction files, two-file linkage, threshold sweep and input errors. The files are checked
/// against figures computed here from the CSV's own labels (read with the CSV library, not the command's reader).
/// </summary>
public sealed class MatchEvaluateOutputTests
{
    private static readonly string Fake1000 = TestData("linkage", "fake_1000.csv");
    private static readonly string Fake1000Settings = TestData("matching", "fake_1000.json");

    [Fact]
    public void Pairs_out_holds_exactly_the_pairs_the_metrics_counted_and_clusters_out_is_the_components_of_the_AutoMerge_pairs()
    {
        using var folder = new TempFolder();
        var pairsFile = folder.File("pairs.csv");
        var clustersFile = folder.File("clusters.csv");
        var output = new StringWriter();

        var exit = MatchEvaluationCommand.Run(
            [Fake1000, "--id", "unique_id", "--truth", "cluster", "--settings", Fake1000Settings, "--pairs-out", pairsFile, "--clusters-out", clustersFile], output);

        exit.Should().Be(0, output.ToString());
        var text = output.ToString();
        var label = ReadCsv(Fake1000).ToDictionary(r => r["unique_id"], r => r["cluster"]);
        var truePairs = label.Values.GroupBy(l => l).Sum(g => (long)g.Count() * (g.Count() - 1) / 2);

        var pairs = ReadCsv(pairsFile);
        pairs.Should().NotBeEmpty();
        ReadHeader(pairsFile).Should().Equal("left_id", "right_id", "match_probability", "match_weight", "band", "true_match");
        pairs.Select(p => (p["left_id"], p["right_id"])).Should().OnlyHaveUniqueItems();
        foreach (var p in pairs)
        {
            var probability = double.Parse(p["match_probability"], CultureInfo.InvariantCulture);
            var weight = double.Parse(p["match_weight"], CultureInfo.InvariantCulture);
            probability.Should().BeApproximately(1 / (1 + Math.Pow(2, -weight)), 1e-12);
            probability.Should().BeGreaterThanOrEqualTo(0.8);
            p["band"].Should().Be(probability >= 0.99 ? "AutoMerge" : "Review");
            p["true_match"].Should().Be(label[p["left_id"]] == label[p["right_id"]] ? "true" : "false");
        }
        var autoMerge = pairs.Where(p => p["band"] == "AutoMerge").ToList();
        autoMerge.Should().NotBeEmpty();
        pairs.Should().Contain(p => p["band"] == "Review");
        ShouldPrint(text, "AutoMerge p>=0.99 pairwise", autoMerge.Count, Correct(autoMerge), truePairs);
        ShouldPrint(text, "Review p>=0.8 pairwise", pairs.Count, Correct(pairs), truePairs);

        // clusters: every record once, grouped as the connected components of the AutoMerge pairs (found here by search)
        var clusters = ReadCsv(clustersFile);
        ReadHeader(clustersFile).Should().Equal("record_id", "cluster_id", "cluster_size");
        clusters.Select(c => c["record_id"]).Should().BeEquivalentTo(label.Keys).And.OnlyHaveUniqueItems();
        var components = Components(label.Keys, autoMerge.Select(p => (p["left_id"], p["right_id"])));
        var written = clusters.GroupBy(c => c["cluster_id"]).ToList();
        written.Select(g => string.Join(" ", g.Select(c => c["record_id"]).Order(StringComparer.Ordinal)))
            .Should().BeEquivalentTo(components.Select(c => string.Join(" ", c.Order(StringComparer.Ordinal))));
        written.Should().OnlyContain(g => g.All(c => c["cluster_size"] == g.Count().ToString(CultureInfo.InvariantCulture)));
        written.Should().Contain(g => g.Count() > 2, "chains of AutoMerge pairs make clusters larger than a pair");
        var predicted = written.Sum(g => (long)g.Count() * (g.Count() - 1) / 2);
        var correct = written.Sum(g => g.GroupBy(c => label[c["record_id"]]).Sum(s => (long)s.Count() * (s.Count() - 1) / 2));
        ShouldPrint(text, "AutoMerge p>=0.99 clustered", predicted, correct, truePairs);
        text.Should().Contain($"pairs: {pairs.Count:N0} written to {pairsFile}").And.Contain($"clusters: {written.Count:N0} (1,000 records) written to {clustersFile}");

        long Correct(IEnumerable<Dictionary<string, string>> rows) => rows.Count(p => label[p["left_id"]] == label[p["right_id"]]);
    }

    [Fact]
    public void Two_file_linkage_compares_and_counts_only_pairs_across_the_files()
    {
        using var folder = new TempFolder();
        // alternate rows: each person's records fall on both sides, so both files also hold duplicates of their own
        var lines = File.ReadAllLines(Fake1000);
        var a = folder.File("a.csv");
        var b = folder.File("b.csv");
        File.WriteAllLines(a, lines.Take(1).Concat(lines.Skip(1).Where((_, i) => i % 2 == 0)));
        File.WriteAllLines(b, lines.Take(1).Concat(lines.Skip(1).Where((_, i) => i % 2 == 1)));
        var labelA = ReadCsv(a).ToDictionary(r => r["unique_id"], r => r["cluster"]);
        var labelB = ReadCsv(b).ToDictionary(r => r["unique_id"], r => r["cluster"]);
        labelA.Values.GroupBy(l => l).Should().Contain(g => g.Count() > 1, "file a holds true pairs of its own, which linkage must ignore");
        var crossTruePairs = labelA.Values.Sum(l => (long)labelB.Values.Count(m => m == l));
        var pairsFile = folder.File("pairs.csv");
        var clustersFile = folder.File("clusters.csv");
        var output = new StringWriter();

        var exit = MatchEvaluationCommand.Run(
            ["--link", a, b, "--id", "unique_id", "--truth", "cluster", "--settings", Fake1000Settings, "--pairs-out", pairsFile, "--clusters-out", clustersFile], output);

        exit.Should().Be(0, output.ToString());
        var text = output.ToString();
        text.Should().Contain("a.csv + b.csv (linkage: only pairs across the files): 1,000 records (500 + 500)");
        text.Should().Contain($"of {250_000:N0} comparable").And.MatchRegex($@"true pairs among them [\d,]+ of {crossTruePairs:N0} ");
        var pairs = ReadCsv(pairsFile);
        pairs.Should().NotBeEmpty().And.OnlyContain(p => labelA.ContainsKey(p["left_id"]) && labelB.ContainsKey(p["right_id"]));
        var autoMerge = pairs.Where(p => p["band"] == "AutoMerge").ToList();
        ShouldPrint(text, "AutoMerge p>=0.99 pairwise", autoMerge.Count, autoMerge.Count(p => labelA[p["left_id"]] == labelB[p["right_id"]]), crossTruePairs);
        var clusters = ReadCsv(clustersFile);
        clusters.Where(c => c["file"] == "a.csv").Select(c => c["record_id"]).Should().BeEquivalentTo(labelA.Keys);
        clusters.Where(c => c["file"] == "b.csv").Select(c => c["record_id"]).Should().BeEquivalentTo(labelB.Keys);
    }

    [Fact]
    public void Two_file_linkage_of_a_split_FEBRL_set_finds_its_pairs()
    {
        using var folder = new TempFolder();
        var lines = File.ReadAllLines(TestData("linkage", "febrl_dataset1.csv"));
        var originals = folder.File("originals.csv");
        var duplicates = folder.File("duplicates.csv");
        File.WriteAllLines(originals, lines.Take(1).Concat(lines.Skip(1).Where(l => l.Contains("-org,", StringComparison.Ordinal))));
        File.WriteAllLines(duplicates, lines.Take(1).Concat(lines.Skip(1).Where(l => l.Contains("-dup-", StringComparison.Ordinal))));
        var output = new StringWriter();

        var exit = MatchEvaluationCommand.Run(
            ["--link", originals, duplicates, "--id", "rec_id", "--truth-from-rec-id", "--settings", TestData("matching", "febrl.json")], output);

        exit.Should().Be(0, output.ToString());
        var clustered = Regex.Match(output.ToString(), @"AutoMerge p>=0\.99 clustered\s+([\d,]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)");
        clustered.Success.Should().BeTrue(output.ToString());
        double.Parse(clustered.Groups[4].Value, CultureInfo.InvariantCulture).Should().BeGreaterThanOrEqualTo(0.999);
        output.ToString().Should().Contain("true pairs among them 500 of 500");
    }

    [Fact]
    public void The_threshold_sweep_covers_every_candidate_score_from_the_lowest_to_the_highest()
    {
        var data = EvaluationData.Read(Fake1000, "unique_id", "cluster", null);
        var (options, error) = EvaluationCommand.LoadSettings(Fake1000Settings);
        options.Should().NotBeNull(error);
        var run = new MatchingEngine(options!).Run(data.Records);
        var truth = data.Truth;
        var candidates = run.Candidates;
        var weights = Enumerable.Range(0, candidates.Count)
            .Select(i => (Weight: run.Scorer.Weight(run.CandidatePatterns[i], candidates.Left[i], candidates.Right[i]), Same: truth[candidates.Left[i]] == truth[candidates.Right[i]]))
            .ToList();
        var (lowest, highest) = (weights.Min(w => w.Weight), weights.Max(w => w.Weight));
        lowest.Should().BeLessThan(run.Plan.ReviewWeight, "some candidates score below Review");

        var rows = ThresholdSweep.Of(run, truth, LinkType.Dedupe);

        rows.Select(r => r.Weight).Should().BeInAscendingOrder();
        rows[0].Weight.Should().BeLessThanOrEqualTo(lowest);
        rows[0].Pairs.Should().Be(candidates.Count);
        rows[^1].Weight.Should().BeLessThanOrEqualTo(highest).And.BeGreaterThan(run.Plan.AutoMergeWeight);
        rows[^1].Pairs.Should().BePositive();
        rows.Count(r => r.Weight < run.Plan.ReviewWeight).Should().BeGreaterThan(2);
        var step = rows[^1].Weight - rows[^2].Weight;
        (highest - rows[^1].Weight).Should().BeLessThan(step, "no round threshold below the highest score is left out");
        rows.Count.Should().BeLessThanOrEqualTo(ThresholdSweep.MaxSteps + 2);
        rows.Single(r => r.Band == MatchRoute.Review).Weight.Should().Be(run.Plan.ReviewWeight);
        rows.Single(r => r.Band == MatchRoute.AutoMerge).Weight.Should().Be(run.Plan.AutoMergeWeight);
        foreach (var row in rows)
        {
            row.Pairs.Should().Be(weights.Count(w => w.Weight >= row.Weight));
            row.Pairwise!.TruePositives.Should().Be(weights.Count(w => w.Weight >= row.Weight && w.Same));
        }
        var output = new StringWriter();
        MatchEvaluationCommand.Run([Fake1000, "--id", "unique_id", "--truth", "cluster", "--settings", Fake1000Settings], output).Should().Be(0);
        var printed = Regex.Matches(output.ToString(), @"^\s+(-?\d+\.\d\d)\s+\S+\s+([\d,]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+", RegexOptions.Multiline);
        printed.Select(m => m.Groups[1].Value).Should().Equal(rows.Select(r => r.Weight.ToString("F2", CultureInfo.InvariantCulture)));
        output.ToString().Should().MatchRegex(@"2\.00\s+0\.8\s+[\d,]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+  Review");
    }

    [Fact]
    public void Without_ground_truth_the_prediction_files_are_written_and_no_accuracy_is_claimed()
    {
        using var folder = new TempFolder();
        var pairsFile = folder.File("pairs.csv");
        var output = new StringWriter();

        var exit = MatchEvaluationCommand.Run([Fake1000, "--id", "unique_id", "--settings", Fake1000Settings, "--pairs-out", pairsFile], output);

        exit.Should().Be(0, output.ToString());
        output.ToString().Should().Contain("no ground truth: no precision or recall").And.NotContain("F1").And.NotContain("pairwise");
        ReadCsv(pairsFile).Should().NotBeEmpty().And.OnlyContain(p => p["true_match"] == "");
        output = new StringWriter();
        MatchEvaluationCommand.Run([Fake1000, "--id", "unique_id", "--settings", Fake1000Settings], output).Should().Be(1);
        output.ToString().Should().Contain("missing the ground truth");
    }

    [Fact]
    public void Repeated_record_ids_are_reported_since_the_output_files_name_records_by_id()
    {
        using var folder = new TempFolder();
        var lines = File.ReadAllLines(Fake1000);
        var repeated = folder.File("repeated.csv");
        File.WriteAllLines(repeated, [.. lines, .. lines.Skip(1).Take(3)]); // the first three records once more

        var (exit, text) = Evaluate([repeated, "--id", "unique_id", "--truth", "cluster", "--settings", Fake1000Settings]);
        var (cleanExit, clean) = Evaluate([Fake1000, "--id", "unique_id", "--truth", "cluster", "--settings", Fake1000Settings]);

        exit.Should().Be(0, text);
        text.Should().Contain("note: 3 records of repeated.csv share their --id value with an earlier record");
        cleanExit.Should().Be(0);
        clean.Should().NotContain("note:");
    }

    [Fact]
    public void Output_files_are_refused_before_the_run_when_their_folder_is_missing_they_exist_or_they_are_an_input()
    {
        using var folder = new TempFolder();
        var existing = folder.File("pairs.csv");
        File.WriteAllText(existing, "keep me");
        string[] run = [Fake1000, "--id", "unique_id", "--truth", "cluster", "--settings", Fake1000Settings];

        Refuses([.. run, "--pairs-out", folder.File("no-such-folder/pairs.csv")], 1, $"--pairs-out {folder.File("no-such-folder/pairs.csv")}: the folder {folder.File("no-such-folder")} does not exist");
        Refuses([.. run, "--clusters-out", existing], 1, $"--clusters-out {existing} already exists; pass --overwrite");
        File.ReadAllText(existing).Should().Be("keep me");
        Refuses([.. run, "--pairs-out", Fake1000, "--overwrite"], 1, "is an input file");
        Refuses([.. run, "--pairs-out", existing, "--clusters-out", existing, "--overwrite"], 1, "name the same file");
        Refuses([.. run, "--pairs-out", folder.Path], 1, "is a folder");
        Refuses([.. run, "--pairs-out"], 1, "--pairs-out needs a file name");

        Evaluate([.. run, "--pairs-out", existing, "--overwrite"]).Exit.Should().Be(0);
        File.ReadAllText(existing).Should().StartWith("left_id,right_id,");
        Directory.GetFiles(folder.Path).Should().BeEquivalentTo(new[] { existing }, "the temporary file was renamed over the target");
    }

    [Fact]
    public void Bad_input_files_stop_with_exit_1_and_a_field_no_file_has_with_exit_2_naming_the_file()
    {
        using var folder = new TempFolder();
        var malformed = folder.File("malformed.csv");
        File.WriteAllText(malformed, "unique_id,first_name,surname,dob,city,email,cluster\n1,\"ann\"x,smith,1980-01-01,,,1\n");
        var empty = folder.File("empty.csv");
        File.WriteAllText(empty, "");
        var noSurname = folder.File("no-surname.csv");
        File.WriteAllLines(noSurname, File.ReadAllLines(Fake1000).Select(l => string.Join(',', l.Split(',').Where((_, i) => i != 2))));
        string[] rest = ["--id", "unique_id", "--truth", "cluster", "--settings", Fake1000Settings];

        Refuses([folder.File("missing.csv"), .. rest], 1, $"no such file: {folder.File("missing.csv")}");
        Refuses(["--link", Fake1000, folder.File("missing.csv"), .. rest], 1, "no such file");
        Refuses([folder.Path, .. rest], 1, "is a folder, not a CSV file");
        Refuses([malformed, .. rest], 1, $"cannot read {malformed}");
        Refuses([empty, .. rest], 1, "has no records");
        Refuses(["--link", Fake1000, .. rest], 1, "--link needs two CSV files");
        Refuses([Fake1000, "--link", Fake1000, noSurname, .. rest], 1, "not both");
        Refuses(["--link", Fake1000, noSurname, .. rest], 2, "field 'surname' is not a column of no-surname.csv");
    }

    [Fact]
    public async Task The_executable_links_two_files_and_exits_1_when_the_output_folder_is_missing()
    {
        using var folder = new TempFolder();
        var lines = File.ReadAllLines(TestData("linkage", "febrl_dataset1.csv"));
        var originals = folder.File("originals.csv");
        var duplicates = folder.File("duplicates.csv");
        File.WriteAllLines(originals, lines.Take(1).Concat(lines.Skip(1).Where(l => l.Contains("-org,", StringComparison.Ordinal))));
        File.WriteAllLines(duplicates, lines.Take(1).Concat(lines.Skip(1).Where(l => l.Contains("-dup-", StringComparison.Ordinal))));
        string[] args = ["match", "evaluate", "--link", originals, duplicates, "--id", "rec_id", "--truth-from-rec-id", "--settings", TestData("matching", "febrl.json")];

        var missing = await CdpProcess.RunToExitAsync(folder.Path, [.. args, "--clusters-out", folder.File("out/clusters.csv")]);
        var done = await CdpProcess.RunToExitAsync(folder.Path, [.. args, "--clusters-out", folder.File("clusters.csv")]);

        missing.ExitCode.Should().Be(1, missing.Output);
        missing.Output.Should().Contain("does not exist");
        done.ExitCode.Should().Be(0, done.Output);
        var clusters = ReadCsv(folder.File("clusters.csv"));
        clusters.Should().HaveCount(1_000).And.OnlyContain(c => c["cluster_size"] == "2", "each original is linked to its one duplicate");
        clusters.GroupBy(c => c["cluster_id"]).Should().OnlyContain(g => g.Count(c => c["file"] == "originals.csv") == 1 && g.Count(c => c["file"] == "duplicates.csv") == 1);
    }

    private static void Refuses(string[] args, int exit, string message)
    {
        var (code, text) = Evaluate(args);
        code.Should().Be(exit, text);
        text.Should().Contain(message);
    }

    private static (int Exit, string Text) Evaluate(string[] args)
    {
        var output = new StringWriter();
        var exit = MatchEvaluationCommand.Run(args, output);
        return (exit, output.ToString());
    }

    private static void ShouldPrint(string text, string row, long predicted, long correct, long actual)
    {
        var match = Regex.Match(text, Regex.Escape(row) + @"\s+([\d,]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)");
        match.Success.Should().BeTrue($"the report has a '{row}' row:\n{text}");
        long.Parse(match.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture).Should().Be(predicted, row);
        match.Groups[2].Value.Should().Be(((double)correct / predicted).ToString("F4", CultureInfo.InvariantCulture), row + " precision");
        match.Groups[3].Value.Should().Be(((double)correct / actual).ToString("F4", CultureInfo.InvariantCulture), row + " recall");
    }

    private static List<HashSet<string>> Components(IEnumerable<string> records, IEnumerable<(string, string)> edges)
    {
        var next = records.ToDictionary(r => r, _ => new List<string>());
        foreach (var (a, b) in edges)
        {
            next[a].Add(b);
            next[b].Add(a);
        }
        var seen = new HashSet<string>();
        var components = new List<HashSet<string>>();
        foreach (var start in next.Keys.Where(seen.Add))
        {
            var component = new HashSet<string> { start };
            var queue = new Queue<string>([start]);
            while (queue.TryDequeue(out var r))
                foreach (var n in next[r].Where(seen.Add))
                {
                    component.Add(n);
                    queue.Enqueue(n);
                }
            components.Add(component);
        }
        return components;
    }

    private static string[] ReadHeader(string path) => File.ReadLines(path).First().Split(',');

    private static List<Dictionary<string, string>> ReadCsv(string path)
    {
        using var csv = CsvReader.FromFile(path, new CsvReaderOptions { HasHeader = true });
        var rows = new List<Dictionary<string, string>>();
        while (csv.Read())
        {
            string[] headers = [.. csv.Headers];
            var row = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < headers.Length; i++) row[headers[i]] = csv.GetStringOrNull(i) ?? "";
            rows.Add(row);
        }
        return rows;
    }
}
