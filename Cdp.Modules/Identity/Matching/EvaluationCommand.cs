using System.Globalization;
using System.Text.RegularExpressions;
using CsvHelper;
using FluentValidation.Results;
using Microsoft.Extensions.Configuration;

namespace Cdp.Modules.Identity.Matching;

/// <summary>
/// <c>cdp match evaluate &lt;csv&gt; --id &lt;col&gt; (--truth &lt;col&gt; | --truth-from-rec-id | --truth-pattern &lt;regex&gt;)
/// [--settings &lt;json&gt;] [--verbose] [--explain N]</c>: runs the matching engine on a CSV file with ground truth
/// and prints pairwise and clustered precision, recall and F1, candidate pairs and time.
/// </summary>
internal static class EvaluationCommand
{
    public const string Usage =
        "usage: cdp match evaluate <csv> --id <column> (--truth <column> | --truth-from-rec-id | --truth-pattern <regex>) [--settings <json file>] [--verbose] [--explain <n>] [--errors <n>]\n" +
        "  --truth <column>       records with the same value in this column are the same person\n" +
        "  --truth-from-rec-id    FEBRL ids: rec-N-org and rec-N-dup-k with the same N are the same person\n" +
        "  --truth-pattern <re>   the truth is the first capture group of <re> applied to --truth (or else --id) column\n" +
        "  --settings <file>      JSON with the Cdp:Identity:Matching section (or that section's content at the root);\n" +
        "                         default: the Cdp:Identity:Matching section of appsettings.json beside the executable\n" +
        "  --verbose              also print the trained m, u and weights per comparison level\n" +
        "  --explain <n>          also print the n lowest-scoring pairs routed to Review or AutoMerge, with their breakdown\n" +
        "  --errors <n>           also print up to n wrongly merged and n missed candidate pairs (at AutoMerge), with their breakdown";

    /// <summary>FEBRL record ids: rec-123-org, rec-123-dup-0.</summary>
    private const string RecIdPattern = @"^rec-(\d+)-";

    public static int Run(string[] args, TextWriter output)
    {
        if (args.Any(a => a is "--help" or "-h"))
        {
            output.WriteLine(Usage);
            return 0;
        }
        var parsed = Arguments.Parse(args, out var error);
        if (parsed is null)
        {
            output.WriteLine(error);
            output.WriteLine(Usage);
            return 1;
        }
        if (!File.Exists(parsed.Csv))
        {
            output.WriteLine($"no such file: {parsed.Csv}");
            return 1;
        }

        var (options, settingsError) = LoadSettings(parsed.Settings);
        if (options is null)
        {
            output.WriteLine(settingsError);
            return 2;
        }

        EvaluationData data;
        try
        {
            data = EvaluationData.Read(parsed.Csv, parsed.Id, parsed.Truth, parsed.TruthPattern);
        }
        catch (Exception ex) when (ex is InvalidDataException or CsvFormatException or ArgumentException)
        {
            output.WriteLine(ex.Message);
            return 1;
        }

        var engine = new MatchingEngine(options);
        // a field that is no column would be "always empty" and quietly worsen the result: refuse it like invalid settings
        var columns = data.Records.Count > 0 ? data.Records[0].Fields.Keys.ToHashSet(StringComparer.OrdinalIgnoreCase) : [];
        foreach (var c in engine.Plan.Comparisons)
            foreach (var f in c.OtherFields.Prepend(c.Field).Where(f => !columns.Contains(f)))
            {
                output.WriteLine($"comparison '{c.Name}': field '{f}' is not a column of {Path.GetFileName(parsed.Csv)} (columns: {string.Join(", ", columns)})");
                return 2;
            }
        foreach (var r in engine.Plan.BlockingRules)
            foreach (var k in r.Keys.Where(k => !columns.Contains(k.Field)))
            {
                output.WriteLine($"blocking rule '{string.Join("+", r.Keys.Select(x => x.Field))}': field '{k.Field}' is not a column of {Path.GetFileName(parsed.Csv)} (columns: {string.Join(", ", columns)})");
                return 2;
            }
        MatchRun run;
        try
        {
            run = engine.Run(data.Records);
        }
        catch (InvalidOperationException ex)
        {
            output.WriteLine(ex.Message);
            return 1;
        }
        var report = EvaluationReport.Of(run, data.Truth, LinkType.Dedupe);
        report.Print(output, Path.GetFileName(parsed.Csv));
        if (parsed.Verbose) output.Write(run.Model.Describe());
        if (parsed.Explain > 0) PrintExplanations(run, data.Truth, parsed.Explain, output);
        if (parsed.Errors > 0) PrintErrors(run, data.Truth, parsed.Errors, output);
        return 0;
    }

    private static void PrintExplanations(MatchRun run, int[] truth, int count, TextWriter output)
    {
        output.WriteLine($"lowest-scoring {count} pairs at or above Review:");
        foreach (var i in Enumerable.Range(0, run.Pairs.Count).OrderBy(i => run.Pairs.Weight[i]).Take(count))
            PrintPair(run, truth, run.Pairs.Left[i], run.Pairs.Right[i], run.Pairs.Pattern[i], output);
    }

    private static void PrintErrors(MatchRun run, int[] truth, int count, TextWriter output)
    {
        var candidates = run.Candidates;
        var scored = Enumerable.Range(0, candidates.Count)
            .Select(i => (i, Weight: run.Scorer.Weight(run.CandidatePatterns[i], candidates.Left[i], candidates.Right[i]),
                Same: truth[candidates.Left[i]] == truth[candidates.Right[i]]))
            .ToList();
        var wrong = scored.Where(x => !x.Same && x.Weight >= run.Plan.AutoMergeWeight).OrderByDescending(x => x.Weight).ToList();
        var missed = scored.Where(x => x.Same && x.Weight < run.Plan.AutoMergeWeight).OrderBy(x => x.Weight).ToList();
        output.WriteLine($"wrongly merged candidate pairs: {wrong.Count:N0} (showing {Math.Min(count, wrong.Count)})");
        foreach (var x in wrong.Take(count)) PrintPair(run, truth, candidates.Left[x.i], candidates.Right[x.i], run.CandidatePatterns[x.i], output);
        output.WriteLine($"true candidate pairs below AutoMerge: {missed.Count:N0} (showing {Math.Min(count, missed.Count)})");
        foreach (var x in missed.Take(count)) PrintPair(run, truth, candidates.Left[x.i], candidates.Right[x.i], run.CandidatePatterns[x.i], output);
    }

    private static void PrintPair(MatchRun run, int[] truth, int left, int right, ulong pattern, TextWriter output)
    {
        var result = run.Explain(left, right, pattern);
        var same = truth[left] == truth[right] ? "true match" : "NOT a match";
        output.WriteLine(FormattableString.Invariant($"{result.LeftId} ~ {result.RightId}: {result.Route}, p={result.Probability:F4}, weight {result.Weight:F2} (prior {result.PriorWeight:F2}), {same}"));
        foreach (var c in result.Comparisons)
            output.WriteLine(FormattableString.Invariant($"    {c.Comparison,-16} {c.Level,-34} {c.Weight,7:F2}  '{c.LeftValue}' / '{c.RightValue}'"));
    }

    /// <summary>Binds and validates; the error names each bad key (as the host's start-up check does).</summary>
    internal static (MatchingOptions? Options, string? Error) LoadSettings(string? path)
    {
        var file = path ?? Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        if (!File.Exists(file)) return (null, $"no settings file: {file} (pass --settings <json file>)");
        IConfigurationRoot configuration;
        try
        {
            configuration = new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(file), optional: false).Build();
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or IOException)
        {
            return (null, $"cannot read settings {file}: {ex.Message}");
        }
        IConfiguration section = configuration.GetSection(MatchingOptions.Section);
        var prefix = MatchingOptions.Section + ":";
        if (!((IConfigurationSection)section).Exists())
        {
            if (path is null) return (null, $"{file} has no {MatchingOptions.Section} section (pass --settings <json file>)");
            section = configuration;
            prefix = "";
        }
        var options = new MatchingOptions();
        try
        {
            section.Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            return (null, $"invalid settings in {file}: {ex.Message}");
        }
        var result = new MatchingOptionsValidator().Validate(options);
        return result.IsValid ? (options, null) : (null, $"invalid settings in {file}:\n" + Describe(result, prefix));
    }

    internal static string Describe(ValidationResult result, string prefix) =>
        string.Join('\n', result.Errors.Select(e =>
            $"  - {prefix}{e.PropertyName.Replace('.', ':').Replace("[", ":").Replace("]", "")}: {e.ErrorMessage}"));

    private sealed record Arguments(string Csv, string Id, string? Truth, Regex? TruthPattern, string? Settings, bool Verbose, int Explain, int Errors)
    {
        public static Arguments? Parse(string[] args, out string error)
        {
            error = "";
            string? csv = null, id = null, truth = null, pattern = null, settings = null;
            var verbose = false;
            var explain = 0;
            var errors = 0;
            for (var i = 0; i < args.Length; i++)
            {
                var arg = args[i];
                string? Value() => i + 1 < args.Length ? args[++i] : null;
                switch (arg)
                {
                    case "--id": id = Value(); break;
                    case "--truth": truth = Value(); break;
                    case "--truth-pattern": pattern = Value(); break;
                    case "--truth-from-rec-id": pattern = RecIdPattern; break;
                    case "--settings": settings = Value(); break;
                    case "--verbose": verbose = true; break;
                    case "--explain":
                        if (!int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out explain))
                        {
                            error = "--explain needs a number";
                            return null;
                        }
                        break;
                    case "--errors":
                        if (!int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out errors))
                        {
                            error = "--errors needs a number";
                            return null;
                        }
                        break;
                    default:
                        if (arg.StartsWith("--", StringComparison.Ordinal) || csv is not null)
                        {
                            error = $"unexpected argument '{arg}'";
                            return null;
                        }
                        csv = arg;
                        break;
                }
            }
            if (csv is null) error = "missing the CSV file";
            else if (string.IsNullOrEmpty(id)) error = "missing --id <column>";
            else if (truth is null && pattern is null) error = "missing the ground truth: --truth <column>, --truth-from-rec-id or --truth-pattern <regex>";
            if (error.Length > 0) return null;
            Regex? regex = null;
            if (pattern is not null)
            {
                try
                {
                    regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                }
                catch (ArgumentException ex)
                {
                    error = $"--truth-pattern is not a valid regular expression: {ex.Message}";
                    return null;
                }
            }
            return new Arguments(csv!, id!, truth, regex, settings, verbose, explain, errors);
        }
    }
}

/// <summary>Records and their ground truth read from a CSV file (fields trimmed, empty = missing).</summary>
internal sealed record EvaluationData(IReadOnlyList<MatchRecord> Records, int[] Truth)
{
    public static EvaluationData Read(string path, string idColumn, string? truthColumn, Regex? truthPattern)
    {
        using var csv = CsvReader.FromFile(path, new CsvReaderOptions
        {
            HasHeader = true,
            TrimWhitespace = true, // FEBRL files put a space after each comma
            FieldCountMismatch = CsvFieldCountHandling.Allow,
            MissingField = CsvMissingFieldHandling.ReturnEmpty,
        });
        var records = new List<MatchRecord>();
        var truth = new List<string>();
        string[]? header = null;
        int idIndex = -1, truthIndex = -1;
        while (csv.Read())
        {
            if (header is null)
            {
                header = [.. csv.Headers];
                idIndex = Column(idColumn);
                truthIndex = truthColumn is null ? idIndex : Column(truthColumn);
            }
            var fields = new Dictionary<string, string?>(header.Length, StringComparer.OrdinalIgnoreCase); // like the CSV import
            for (var i = 0; i < header.Length && i < csv.FieldCount; i++)
            {
                if (i == truthIndex && truthColumn is not null) continue; // the truth is never a matching field
                fields[header[i]] = csv.GetStringOrNull(i);
            }
            var id = csv.GetStringOrNull(idIndex) ?? "";
            var label = csv.GetStringOrNull(truthIndex) ?? "";
            if (truthPattern is not null)
            {
                var match = truthPattern.Match(label);
                if (!match.Success)
                    throw new InvalidDataException($"row {csv.RowNumber}: '{label}' does not match the truth pattern {truthPattern}");
                label = match.Groups.Count > 1 ? match.Groups[1].Value : match.Value;
            }
            records.Add(new MatchRecord(id, fields));
            truth.Add(label);
        }
        if (header is null) throw new InvalidDataException($"{path} has no records");
        return new EvaluationData(records, LinkageEvaluation.Labels(truth));

        int Column(string name)
        {
            var index = Array.FindIndex(header!, h => string.Equals(h, name, StringComparison.OrdinalIgnoreCase));
            return index >= 0 ? index : throw new InvalidDataException($"{path} has no column '{name}'; columns: {string.Join(", ", header!)}");
        }
    }
}
/// <summary>The figures `match evaluate` prints, at both thresholds.</summary>
internal sealed record EvaluationReport(
    int Records,
    CandidatePairs Candidates,
    PairCounts Blocking,
    PairCounts PairwiseAutoMerge,
    PairCounts ClusteredAutoMerge,
    PairCounts PairwiseReview,
    PairCounts ClusteredReview,
    MatchRun Run,
    int[] Truth,
    LinkType LinkType)
{
    /// <summary>Only pairs kept by the run (at or above Review) can be swept: higher thresholds are shown.</summary>
    private double[] SweepProbabilities => [.. new[] { 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999 }.Where(p => p >= Run.Plan.Options.Thresholds.Review)];

    public static EvaluationReport Of(MatchRun run, int[] truth, LinkType linkType)
    {
        var sources = run.Records.Sources;
        var plan = run.Plan;
        return new EvaluationReport(
            run.Records.Count,
            run.Candidates,
            LinkageEvaluation.Blocking(run.Candidates, truth, sources, linkType),
            LinkageEvaluation.Pairwise(run.Pairs, plan.AutoMergeWeight, truth, sources, linkType),
            LinkageEvaluation.Clustered(run.Clusters, truth, sources, linkType),
            LinkageEvaluation.Pairwise(run.Pairs, plan.ReviewWeight, truth, sources, linkType),
            LinkageEvaluation.Clustered(run.ClustersAt(plan.ReviewWeight), truth, sources, linkType),
            run,
            truth,
            linkType);
    }

    public void Print(TextWriter output, string name)
    {
        var plan = Run.Plan;
        output.WriteLine(FormattableString.Invariant($"match evaluate {name}: {Records:N0} records, {plan.Comparisons.Length} comparisons, {plan.BlockingRules.Length} blocking rules"));
        output.WriteLine(FormattableString.Invariant($"candidate pairs {Candidates.Count:N0} of {Candidates.ComparablePairs:N0} comparable; true pairs among them {Blocking.TruePositives:N0} of {Blocking.Actual:N0} (blocking recall {Blocking.Recall:F4})"));
        foreach (var rule in Candidates.Report)
            output.WriteLine(FormattableString.Invariant($"  rule {rule.Rule,-32} {rule.Pairs,12:N0} pairs {rule.NewPairs,12:N0} new"));
        output.WriteLine(FormattableString.Invariant($"model: prior {Run.Model.Lambda:G4} (weight {Run.Model.PriorWeight:F2}), {Run.Model.Sessions.Count} EM sessions"));
        output.WriteLine(FormattableString.Invariant($"{"",-34} {"pairs",9} {"precision",10} {"recall",8} {"F1",8}"));
        Row($"AutoMerge p>={plan.Options.Thresholds.AutoMerge} pairwise", PairwiseAutoMerge);
        Row($"AutoMerge p>={plan.Options.Thresholds.AutoMerge} clustered", ClusteredAutoMerge);
        Row($"Review p>={plan.Options.Thresholds.Review} pairwise", PairwiseReview);
        Row($"Review p>={plan.Options.Thresholds.Review} clustered", ClusteredReview);
        output.WriteLine("clustered F1 by threshold (to choose thresholds on labelled data):");
        var sweep = SweepProbabilities.Select(p => (p, LinkageEvaluation.Clustered(Run.ClustersAt(MatchProbability.ToWeight(p)), Truth, Run.Records.Sources, LinkType)));
        output.WriteLine("  " + string.Join("  ", sweep.Select(x => FormattableString.Invariant($"p>={x.p}: {x.Item2.F1:F4}"))));
        var autoMerge = PairwiseAutoMerge.Predicted;
        output.WriteLine(FormattableString.Invariant($"routed: AutoMerge {autoMerge:N0} pairs, Review {PairwiseReview.Predicted - autoMerge:N0} pairs, None {Candidates.Count - PairwiseReview.Predicted:N0} pairs"));
        var t = Run.Timings;
        output.WriteLine(FormattableString.Invariant($"time: {Ms(t.Total)} ms (encode {Ms(t.Encode)}, blocking {Ms(t.Blocking)}, compare {Ms(t.Compare)}, u sampling {Ms(t.U)}, EM {Ms(t.Em)}, scoring {Ms(t.Scoring)}, clustering {Ms(t.Clustering)})"));

        void Row(string label, PairCounts counts) =>
            output.WriteLine(FormattableString.Invariant($"{label,-34} {counts.Predicted,9:N0} {counts.Precision,10:F4} {counts.Recall,8:F4} {counts.F1,8:F4}"));

        static string Ms(TimeSpan time) => time.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture);
    }
}
