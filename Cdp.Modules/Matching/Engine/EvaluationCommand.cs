using System.Globalization;
using System.Text.RegularExpressions;
using CsvHelper;
using FluentValidation.Results;
using Microsoft.Extensions.Configuration;

namespace Cdp.Modules.Matching.Engine;

/// <summary>
/// <c>cdp match evaluate &lt;csv&gt; --id &lt;col&gt; (--truth &lt;col&gt; | --truth-from-rec-id | --truth-pattern &lt;regex&gt;)
/// [--settings &lt;json&gt;] [--verbose] [--explain N]</c>: runs the matching engine on a CSV file with ground truth
/// and prints pairwise and clustered precision, recall and F1, candidate pairs and time.
/// </summary>
internal static class EvaluationCommand
{
    public const string Usage =
        "usage: cdp match evaluate (<csv> | --link <a.csv> <b.csv>) --id <column> [--truth <column> | --truth-from-rec-id | --truth-pattern <regex>]\n" +
        "                          [--settings <json file>] [--pairs-out <file>] [--clusters-out <file>] [--overwrite] [--verbose] [--explain <n>] [--errors <n>]\n" +
        "  --link <a> <b>         two-file linkage: only pairs of one record of <a> and one of <b> are compared and counted\n" +
        "  --truth <column>       records with the same value in this column are the same person\n" +
        "  --truth-from-rec-id    FEBRL ids: rec-N-org and rec-N-dup-k with the same N are the same person\n" +
        "  --truth-pattern <re>   the truth is the first capture group of <re> applied to --truth (or else --id) column\n" +
        "                         (no ground truth: only with --pairs-out or --clusters-out; no precision or recall then)\n" +
        "  --settings <file>      JSON with the Cdp:Identity:Matching section (or that section's content at the root);\n" +
        "                         default: the Cdp:Identity:Matching section of appsettings.json beside the executable\n" +
        "  --pairs-out <file>     write the pairs at or above Review as CSV: left_id, right_id, match_probability, match_weight,\n" +
        "                         band (AutoMerge or Review), true_match (true/false; empty without ground truth)\n" +
        "  --clusters-out <file>  write every record's cluster (the connected components of the AutoMerge pairs) as CSV:\n" +
        "                         record_id, cluster_id, cluster_size (with --link also file)\n" +
        "  --overwrite            replace existing output files (without it an existing file stops the command)\n" +
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
        foreach (var input in parsed.Inputs)
        {
            if (!File.Exists(input))
            {
                output.WriteLine(Directory.Exists(input) ? $"{input} is a folder, not a CSV file" : $"no such file: {input}");
                return 1;
            }
        }
        // checked before the (possibly long) run, so a typo in an output path costs nothing
        var outputs = PredictionFiles.Check(parsed.PairsOut, parsed.ClustersOut, parsed.Inputs, parsed.Overwrite);
        if (outputs.Error is not null)
        {
            output.WriteLine(outputs.Error);
            return 1;
        }

        var (options, settingsError) = LoadSettings(parsed.Settings);
        if (options is null)
        {
            output.WriteLine(settingsError);
            return 2;
        }

        var files = new List<EvaluationData>(parsed.Inputs.Length);
        for (var source = 0; source < parsed.Inputs.Length; source++)
        {
            var input = parsed.Inputs[source];
            try
            {
                files.Add(EvaluationData.Read(input, parsed.Id, parsed.Truth, parsed.TruthPattern, labelled: parsed.Labelled, source));
            }
            catch (Exception ex) when (ex is InvalidDataException or CsvFormatException or ArgumentException or IOException or UnauthorizedAccessException or RegexMatchTimeoutException)
            {
                output.WriteLine(ex is InvalidDataException ? ex.Message : $"cannot read {input}: {ex.Message}");
                return 1;
            }
        }

        var engine = new MatchingEngine(options);
        // a field that is no column would be "always empty" and quietly worsen the result: refuse it like invalid settings
        foreach (var file in files)
        {
            if (MissingField(engine.Plan, file) is { } missing)
            {
                output.WriteLine(missing);
                return 2;
            }
        }
        var records = files.Count == 1 ? files[0].Records : [.. files.SelectMany(f => f.Records)];
        var truth = parsed.Labelled ? LinkageEvaluation.Labels(files.SelectMany(f => f.Labels!)) : null;
        var linkType = parsed.Inputs.Length == 2 ? LinkType.Link : LinkType.Dedupe;
        MatchRun run;
        try
        {
            run = engine.Run(records, linkType);
        }
        catch (InvalidOperationException ex)
        {
            output.WriteLine(ex.Message);
            return 1;
        }
        var fileNames = FileLabels(parsed.Inputs);
        var report = EvaluationReport.Of(run, truth, linkType);
        report.Print(output, string.Join(" + ", fileNames));
        foreach (var file in files.Where(f => f.DuplicateIds > 0))
            output.WriteLine($"note: {file.DuplicateIds:N0} records of {Path.GetFileName(file.Path)} share their --id value with an earlier record; the output files name records by that id");
        if (parsed.Verbose) output.Write(run.Model.Describe());
        if (parsed.Explain > 0) PrintExplanations(run, truth, parsed.Explain, output);
        if (parsed.Errors > 0) PrintErrors(run, truth!, parsed.Errors, output);
        try
        {
            if (outputs.Pairs is not null)
            {
                var written = PredictionFiles.WritePairs(outputs.Pairs, run, truth, parsed.Overwrite);
                output.WriteLine($"pairs: {written:N0} written to {outputs.Pairs}");
            }
            if (outputs.Clusters is not null)
            {
                var clusters = PredictionFiles.WriteClusters(outputs.Clusters, run, linkType == LinkType.Link ? fileNames : null, parsed.Overwrite);
                output.WriteLine($"clusters: {clusters:N0} ({run.Records.Count:N0} records) written to {outputs.Clusters}");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            output.WriteLine($"cannot write the output: {ex.Message}");
            return 1;
        }
        return 0;
    }

    /// <summary>The files' names as the output shows them; their paths when two have the same name.</summary>
    private static string[] FileLabels(string[] inputs)
    {
        var names = inputs.Select(i => Path.GetFileName(i)).ToArray();
        return names.Distinct(StringComparer.Ordinal).Count() == names.Length ? names : inputs;
    }

    private static string? MissingField(ComparisonPlan plan, EvaluationData file)
    {
        var columns = file.Columns.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var name = Path.GetFileName(file.Path);
        foreach (var c in plan.Comparisons)
            foreach (var f in c.OtherFields.Prepend(c.Field).Where(f => !columns.Contains(f)))
                return $"comparison '{c.Name}': field '{f}' is not a column of {name} (columns: {string.Join(", ", file.Columns)})";
        foreach (var r in plan.BlockingRules)
            foreach (var k in r.Keys.Where(k => !columns.Contains(k.Field)))
                return $"blocking rule '{string.Join("+", r.Keys.Select(x => x.Field))}': field '{k.Field}' is not a column of {name} (columns: {string.Join(", ", file.Columns)})";
        return null;
    }

    private static void PrintExplanations(MatchRun run, int[]? truth, int count, TextWriter output)
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

    private static void PrintPair(MatchRun run, int[]? truth, int left, int right, ulong pattern, TextWriter output)
    {
        var result = run.Explain(left, right, pattern);
        var same = truth is null ? "" : truth[left] == truth[right] ? ", true match" : ", NOT a match";
        output.WriteLine(FormattableString.Invariant($"{result.LeftId} ~ {result.RightId}: {result.Route}, p={result.Probability:F4}, weight {result.Weight:F2} (prior {result.PriorWeight:F2}){same}"));
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

    private sealed record Arguments(
        string[] Inputs, string Id, string? Truth, Regex? TruthPattern, string? Settings, bool Verbose, int Explain, int Errors,
        string? PairsOut, string? ClustersOut, bool Overwrite)
    {
        public bool Labelled => Truth is not null || TruthPattern is not null;

        public static Arguments? Parse(string[] args, out string error)
        {
            error = "";
            string? csv = null, id = null, truth = null, pattern = null, settings = null, pairsOut = null, clustersOut = null;
            string[]? link = null;
            var verbose = false;
            var overwrite = false;
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
                    case "--overwrite": overwrite = true; break;
                    case "--pairs-out":
                        pairsOut = Value();
                        if (string.IsNullOrWhiteSpace(pairsOut))
                        {
                            error = "--pairs-out needs a file name";
                            return null;
                        }
                        break;
                    case "--clusters-out":
                        clustersOut = Value();
                        if (string.IsNullOrWhiteSpace(clustersOut))
                        {
                            error = "--clusters-out needs a file name";
                            return null;
                        }
                        break;
                    case "--link":
                        var a = Value();
                        var b = Value();
                        if (a is null || b is null || a.StartsWith("--", StringComparison.Ordinal) || b.StartsWith("--", StringComparison.Ordinal))
                        {
                            error = "--link needs two CSV files: --link <a.csv> <b.csv>";
                            return null;
                        }
                        link = [a, b];
                        break;
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
            var labelled = truth is not null || pattern is not null;
            if (csv is not null && link is not null) error = "give either one CSV file (deduplication) or --link <a.csv> <b.csv> (linkage), not both";
            else if (csv is null && link is null) error = "missing the CSV file (or --link <a.csv> <b.csv>)";
            else if (string.IsNullOrEmpty(id)) error = "missing --id <column>";
            else if (!labelled && pairsOut is null && clustersOut is null)
                error = "missing the ground truth: --truth <column>, --truth-from-rec-id or --truth-pattern <regex> (or --pairs-out / --clusters-out to only write the predictions)";
            else if (!labelled && errors > 0) error = "--errors needs the ground truth";
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
            return new Arguments(link ?? [csv!], id!, truth, regex, settings, verbose, explain, errors, pairsOut, clustersOut, overwrite);
        }
    }
}

/// <summary>
/// Records and their ground truth read from a CSV file (fields trimmed, empty = missing). The truth column is never a
/// matching field. <see cref="Labels"/> is null when the file is read without ground truth.
/// </summary>
internal sealed class EvaluationData
{
    /// <summary>A record of person data is a few hundred bytes: one over 1 MiB means broken quoting, not data.</summary>
    private const int MaxRecordBytes = 1 << 20;

    private EvaluationData(string path, IReadOnlyList<string> columns, IReadOnlyList<MatchRecord> records, IReadOnlyList<string>? labels, int duplicateIds)
    {
        Path = path;
        Columns = columns;
        Records = records;
        Labels = labels;
        DuplicateIds = duplicateIds;
    }

    public string Path { get; }

    /// <summary>The columns matching fields may name (the truth column left out).</summary>
    public IReadOnlyList<string> Columns { get; }

    public IReadOnlyList<MatchRecord> Records { get; }

    /// <summary>Each record's ground-truth label as read (after the truth pattern), or null without ground truth.</summary>
    public IReadOnlyList<string>? Labels { get; }

    /// <summary>Records whose id an earlier record of the file already has.</summary>
    public int DuplicateIds { get; }

    /// <summary>The labels as small integers (one file on its own; several files share labels through <see cref="LinkageEvaluation.Labels"/>).</summary>
    public int[] Truth => LinkageEvaluation.Labels(Labels ?? throw new InvalidOperationException($"{Path} was read without ground truth"));

    /// <summary>One labelled file: the truth is <paramref name="truthColumn"/> (else the id column), through <paramref name="truthPattern"/> when given.</summary>
    public static EvaluationData Read(string path, string idColumn, string? truthColumn, Regex? truthPattern) =>
        Read(path, idColumn, truthColumn, truthPattern, labelled: true, source: 0);

    /// <param name="source">The file's number when linking (records of different sources are compared).</param>
    public static EvaluationData Read(string path, string idColumn, string? truthColumn, Regex? truthPattern, bool labelled, int source)
    {
        using var csv = CsvReader.FromFile(path, new CsvReaderOptions
        {
            HasHeader = true,
            TrimWhitespace = true, // FEBRL files put a space after each comma
            FieldCountMismatch = CsvFieldCountHandling.Allow,
            MissingField = CsvMissingFieldHandling.ReturnEmpty,
            MalformedData = CsvMalformedDataHandling.Throw, // a mis-quoted file would silently shift values between fields
            MaxRecordSize = MaxRecordBytes,
            TrackLineNumbers = true,
        });
        var records = new List<MatchRecord>();
        var labels = labelled ? new List<string>() : null;
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var duplicates = 0;
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
            if (!ids.Add(id)) duplicates++;
            if (labels is not null)
            {
                var label = csv.GetStringOrNull(truthIndex) ?? "";
                if (truthPattern is not null)
                {
                    var match = truthPattern.Match(label);
                    if (!match.Success)
                        throw new InvalidDataException($"{path}, row {csv.RowNumber}: '{label}' does not match the truth pattern {truthPattern}");
                    label = match.Groups.Count > 1 ? match.Groups[1].Value : match.Value;
                }
                labels.Add(label);
            }
            records.Add(new MatchRecord(id, fields, source));
        }
        if (header is null) throw new InvalidDataException($"{path} has no records (a header line and at least one row are needed)");
        var columns = header.Where((_, i) => !(i == truthIndex && truthColumn is not null)).ToArray();
        return new EvaluationData(path, columns, records, labels, duplicates);

        int Column(string name)
        {
            var index = Array.FindIndex(header!, h => string.Equals(h, name, StringComparison.OrdinalIgnoreCase));
            return index >= 0 ? index : throw new InvalidDataException($"{path} has no column '{name}'; columns: {string.Join(", ", header!)}");
        }
    }
}

/// <summary>The figures `match evaluate` prints, at both thresholds and over the whole score range (accuracy only with ground truth).</summary>
internal sealed record EvaluationReport(
    int Records,
    CandidatePairs Candidates,
    PairCounts? Blocking,
    PairCounts? PairwiseAutoMerge,
    PairCounts? ClusteredAutoMerge,
    PairCounts? PairwiseReview,
    PairCounts? ClusteredReview,
    IReadOnlyList<SweepRow> Sweep,
    MatchRun Run,
    LinkType LinkType)
{
    public static EvaluationReport Of(MatchRun run, int[]? truth, LinkType linkType)
    {
        var sources = run.Records.Sources;
        var plan = run.Plan;
        var sweep = ThresholdSweep.Of(run, truth, linkType);
        if (truth is null)
            return new EvaluationReport(run.Records.Count, run.Candidates, null, null, null, null, null, sweep, run, linkType);
        return new EvaluationReport(
            run.Records.Count,
            run.Candidates,
            LinkageEvaluation.Blocking(run.Candidates, truth, sources, linkType),
            LinkageEvaluation.Pairwise(run.Pairs, plan.AutoMergeWeight, truth, sources, linkType),
            LinkageEvaluation.Clustered(run.Clusters, truth, sources, linkType),
            LinkageEvaluation.Pairwise(run.Pairs, plan.ReviewWeight, truth, sources, linkType),
            LinkageEvaluation.Clustered(run.ClustersAt(plan.ReviewWeight), truth, sources, linkType),
            sweep,
            run,
            linkType);
    }

    public void Print(TextWriter output, string name)
    {
        var plan = Run.Plan;
        var mode = LinkType == LinkType.Link ? " (linkage: only pairs across the files)" : "";
        var perFile = LinkType == LinkType.Link
            ? " (" + string.Join(" + ", Run.Records.Sources.GroupBy(s => s).OrderBy(g => g.Key).Select(g => g.Count().ToString("N0", CultureInfo.InvariantCulture))) + ")"
            : "";
        output.WriteLine(FormattableString.Invariant($"match evaluate {name}{mode}: {Records:N0} records{perFile}, {plan.Comparisons.Length} comparisons, {plan.BlockingRules.Length} blocking rules"));
        output.WriteLine(Blocking is null
            ? FormattableString.Invariant($"candidate pairs {Candidates.Count:N0} of {Candidates.ComparablePairs:N0} comparable (no ground truth: no precision or recall)")
            : FormattableString.Invariant($"candidate pairs {Candidates.Count:N0} of {Candidates.ComparablePairs:N0} comparable; true pairs among them {Blocking.TruePositives:N0} of {Blocking.Actual:N0} (blocking recall {Blocking.Recall:F4})"));
        foreach (var rule in Candidates.Report)
            output.WriteLine(FormattableString.Invariant($"  rule {rule.Rule,-32} {rule.Pairs,12:N0} pairs {rule.NewPairs,12:N0} new"));
        output.WriteLine(FormattableString.Invariant($"model: prior {Run.Model.Lambda:G4} (weight {Run.Model.PriorWeight:F2}), {Run.Model.Sessions.Count} EM sessions"));
        if (PairwiseAutoMerge is not null)
        {
            output.WriteLine(FormattableString.Invariant($"{"",-34} {"pairs",9} {"precision",10} {"recall",8} {"F1",8}"));
            Row($"AutoMerge p>={plan.Options.Thresholds.AutoMerge} pairwise", PairwiseAutoMerge);
            Row($"AutoMerge p>={plan.Options.Thresholds.AutoMerge} clustered", ClusteredAutoMerge!);
            Row($"Review p>={plan.Options.Thresholds.Review} pairwise", PairwiseReview!);
            Row($"Review p>={plan.Options.Thresholds.Review} clustered", ClusteredReview!);
        }
        ThresholdSweep.Print(Sweep, Candidates.Count, output);
        var autoMerge = Sweep.First(r => r.Band == MatchRoute.AutoMerge).Pairs;
        var review = Sweep.First(r => r.Band == MatchRoute.Review).Pairs;
        output.WriteLine(FormattableString.Invariant($"routed: AutoMerge {autoMerge:N0} pairs, Review {review - autoMerge:N0} pairs, None {Candidates.Count - review:N0} pairs"));
        var t = Run.Timings;
        output.WriteLine(FormattableString.Invariant($"time: {Ms(t.Total)} ms (encode {Ms(t.Encode)}, blocking {Ms(t.Blocking)}, compare {Ms(t.Compare)}, u sampling {Ms(t.U)}, EM {Ms(t.Em)}, scoring {Ms(t.Scoring)}, clustering {Ms(t.Clustering)})"));

        void Row(string label, PairCounts counts) =>
            output.WriteLine(FormattableString.Invariant($"{label,-34} {counts.Predicted,9:N0} {counts.Precision,10:F4} {counts.Recall,8:F4} {counts.F1,8:F4}"));

        static string Ms(TimeSpan time) => time.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture);
    }
}
