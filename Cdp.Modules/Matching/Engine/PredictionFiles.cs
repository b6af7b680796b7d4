using CsvHelper;

namespace Cdp.Modules.Matching.Engine;

/// <summary>
/// The prediction files of <c>match evaluate</c>: the pairs at or above Review (<c>--pairs-out</c>) and every record's
/// cluster over the AutoMerge pairs (<c>--clusters-out</c>). Streamed row by row through CsvHelper into a temporary file
/// beside the target, renamed over it when complete, so a failed run never leaves half a file under the name. Cells
/// are written as they are (no formula escaping): these are data files for scripts and matching tools, whose ids must
/// come back unchanged, not spreadsheets.
/// </summary>
internal static class PredictionFiles
{
    public static readonly string[] PairColumns = ["left_id", "right_id", "match_probability", "match_weight", "band", "true_match"];

    public static readonly string[] ClusterColumns = ["record_id", "cluster_id", "cluster_size"];

    /// <summary>The pairs and clusters paths made absolute, or why they cannot be written (checked before the run).</summary>
    public static (string? Pairs, string? Clusters, string? Error) Check(string? pairs, string? clusters, IReadOnlyList<string> inputs, bool overwrite)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var inputPaths = inputs.Select(Path.GetFullPath).ToList();
        string? pairsPath = null, clustersPath = null;
        foreach (var (option, value) in new[] { ("--pairs-out", pairs), ("--clusters-out", clusters) })
        {
            if (value is null) continue;
            string full;
            try
            {
                full = Path.GetFullPath(value);
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
            {
                return (null, null, $"{option} {value}: not a valid file name ({ex.Message})");
            }
            var folder = Path.GetDirectoryName(full);
            if (folder is null || Path.GetFileName(full).Length == 0 || Directory.Exists(full))
                return (null, null, $"{option} {value} is a folder; give a file name");
            if (!Directory.Exists(folder))
                return (null, null, $"{option} {value}: the folder {folder} does not exist (create it first)");
            if (inputPaths.Any(p => string.Equals(p, full, comparison)))
                return (null, null, $"{option} {value} is an input file; give another file name");
            if (File.Exists(full) && !overwrite)
                return (null, null, $"{option} {value} already exists; pass --overwrite to replace it, or give another file name");
            if (option == "--pairs-out") pairsPath = full;
            else clustersPath = full;
        }
        if (pairsPath is not null && string.Equals(pairsPath, clustersPath, comparison))
            return (null, null, "--pairs-out and --clusters-out name the same file");
        return (pairsPath, clustersPath, null);
    }

    /// <summary>
    /// Writes the run's pairs at or above Review, highest weight first, and returns how many. When linking, the left record
    /// is from the first file and the right one from the second (candidate pairs are ordered by record, first file first).
    /// </summary>
    public static long WritePairs(string path, MatchRun run, int[]? truth, bool overwrite)
    {
        var pairs = run.Pairs;
        var ids = run.Records.Ids;
        var order = Enumerable.Range(0, pairs.Count).ToArray();
        Array.Sort(order, (a, b) =>
        {
            var byWeight = pairs.Weight[b].CompareTo(pairs.Weight[a]);
            return byWeight != 0 ? byWeight : pairs.Left[a] != pairs.Left[b] ? pairs.Left[a].CompareTo(pairs.Left[b]) : pairs.Right[a].CompareTo(pairs.Right[b]);
        });
        return Write(path, overwrite, PairColumns, w =>
        {
            foreach (var i in order)
            {
                var (left, right, weight) = (pairs.Left[i], pairs.Right[i], pairs.Weight[i]);
                w.WriteField(ids[left]);
                w.WriteField(ids[right]);
                w.WriteField(MatchProbability.FromWeight(weight), "R");
                w.WriteField(weight, "R");
                w.WriteField(run.Route(weight).ToString());
                if (truth is null) w.WriteField("");
                else w.WriteField(truth[left] == truth[right]);
                w.EndRecord();
            }
            return order.Length;
        });
    }

    /// <summary>
    /// Writes every record (input order) with its cluster: the connected component of the AutoMerge pairs, numbered from 1
    /// in the order of each cluster's first record; a record no pair reaches is a cluster of size 1. Returns the clusters.
    /// </summary>
    /// <param name="files">When linking: the name of each source file, written in a <c>file</c> column.</param>
    public static long WriteClusters(string path, MatchRun run, IReadOnlyList<string>? files, bool overwrite)
    {
        var roots = run.Clusters;
        var ids = run.Records.Ids;
        var number = new Dictionary<int, int>();
        var sizes = new Dictionary<int, int>();
        foreach (var root in roots)
        {
            number.TryAdd(root, number.Count + 1);
            sizes[root] = sizes.GetValueOrDefault(root) + 1;
        }
        string[] header = files is null ? ClusterColumns : [.. ClusterColumns, "file"];
        return Write(path, overwrite, header, w =>
        {
            for (var r = 0; r < roots.Length; r++)
            {
                w.WriteField(ids[r]);
                w.WriteField(number[roots[r]], default);
                w.WriteField(sizes[roots[r]], default);
                if (files is not null) w.WriteField(files[run.Records.Sources[r]]);
                w.EndRecord();
            }
            return number.Count;
        });
    }

    private static long Write(string path, bool overwrite, string[] header, Func<CsvWriter, long> rows)
    {
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            long count;
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var writer = CsvWriter.Create(stream, new CsvWriterOptions { Injection = CsvInjection.None, TrueValue = "true", FalseValue = "false" }, leaveOpen: false))
            {
                writer.WriteHeader(header);
                count = rows(writer);
            }
            File.Move(temp, path, overwrite);
            return count;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
