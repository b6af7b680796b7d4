using CsvHelper;
using Cdp.Modules.Activation.Configuration;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>
/// Privacy erasure in a CsvFile destination's local folder: every file a sync of it wrote ("&lt;sync&gt;-&lt;stamp&gt;-&lt;run&gt;[-added|-removed].csv")
/// that holds a row of the person (the identifier column equal to one of their addresses, or the profile_id column one of
/// their profile ids) is rewritten without those rows: to "&lt;name&gt;.erasing" beside it, flushed, then renamed over it (a reader
/// never sees half a file). Files without such a row are left as they are. Copies already uploaded by SFTP are outside Cdp's
/// reach: their names are returned so the receipt can list them.
/// </summary>
internal static class CsvErasure
{
    /// <summary>The rewritten file names (no folder).</summary>
    public static IReadOnlyList<string> Rewrite(DestinationSettings d, IEnumerable<string> syncs, IReadOnlyCollection<string> keys, IReadOnlyCollection<string> profileIds)
    {
        var rewritten = new List<string>();
        if (!Directory.Exists(d.Folder)) return rewritten;
        var keySet = keys.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var profileSet = profileIds.ToHashSet(StringComparer.Ordinal);
        foreach (var sync in syncs.Distinct(StringComparer.Ordinal))
        {
            var prefix = sync + "-";
            foreach (var file in Directory.GetFiles(d.Folder, prefix + "*.csv").Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(file);
                if (name.Length <= prefix.Length || !char.IsDigit(name[prefix.Length])) continue; // another sync whose name extends this one
                if (RewriteFile(d, file, keySet, profileSet)) rewritten.Add(name);
            }
        }
        return rewritten;
    }

    private static bool RewriteFile(DestinationSettings d, string file, HashSet<string> keys, HashSet<string> profileIds)
    {
        var kept = new List<string[]>();
        var dropped = 0;
        using (var csv = CsvReader.FromFile(file, new CsvReaderOptions
               {
                   Separator = d.Delimiter, HasHeader = false, FieldCountMismatch = CsvFieldCountHandling.Allow, MissingField = CsvMissingFieldHandling.ReturnEmpty,
               }))
        {
            var first = true;
            while (csv.Read())
            {
                var row = new string[csv.FieldCount];
                for (var i = 0; i < row.Length; i++) row[i] = csv.GetStringOrNull(i) ?? "";
                if (!first && ((row.Length > 0 && keys.Contains(row[0].Trim())) || (row.Length > 1 && profileIds.Contains(row[1]))))
                {
                    dropped++;
                    continue;
                }
                first = false;
                kept.Add(row);
            }
        }
        if (dropped == 0) return false;
        var temp = file + ".erasing";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var w = CsvWriter.Create(stream, new CsvWriterOptions { Separator = d.Delimiter }, leaveOpen: true))
                foreach (var row in kept) w.WriteRecord(row);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, file, overwrite: true);
        return true;
    }
}
