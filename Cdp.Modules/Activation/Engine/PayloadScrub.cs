using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsvHelper;

namespace Cdp.Modules.Activation.Engine;

/// <summary>
/// Takes a person out of a stored first payload (run history): a JSON body for a vendor or webhook loses every array element
/// that is, or holds anywhere inside it, one of the person's values (address or profile id): the whole member entry goes, with
/// its names and other fields. A CSV preview loses the rows whose identifier or profile_id is the person's.
/// </summary>
internal static class PayloadScrub
{
    /// <summary>The payload without the person, or null when it held nothing of them (or cannot be read: then only blanking applies).</summary>
    public static string? Without(string payload, IReadOnlySet<string> person)
    {
        if (person.Count == 0 || payload.Length == 0) return null;
        var start = payload.AsSpan().TrimStart();
        if (start.Length > 0 && start[0] is '{' or '[')
        {
            JsonNode? root;
            try { root = JsonNode.Parse(payload); }
            catch (JsonException) { return null; }
            return root is not null && Remove(root, person) ? root.ToJsonString() : null;
        }
        return Csv(payload, person);
    }

    private static bool Remove(JsonNode node, IReadOnlySet<string> person)
    {
        var removed = false;
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o.ToList())
                    if (child is not null) removed |= Remove(child, person);
                break;
            case JsonArray a:
                for (var i = a.Count - 1; i >= 0; i--)
                {
                    if (a[i] is null) continue;
                    if (Holds(a[i]!, person)) { a.RemoveAt(i); removed = true; }
                    else removed |= Remove(a[i]!, person);
                }
                break;
        }
        return removed;
    }

    private static bool Holds(JsonNode node, IReadOnlySet<string> person) => node switch
    {
        JsonValue v => v.GetValueKind() == JsonValueKind.String && person.Contains(v.GetValue<string>().Trim()),
        JsonObject o => o.Any(p => p.Value is not null && Holds(p.Value, person)),
        JsonArray a => a.Any(e => e is not null && Holds(e, person)),
        _ => false,
    };

    /// <summary>A CSV preview starts with "&lt;identifier&gt;&lt;delimiter&gt;profile_id": the delimiter is read from there.</summary>
    private static string? Csv(string payload, IReadOnlySet<string> person)
    {
        var header = payload.IndexOf("profile_id", StringComparison.Ordinal);
        if (header < 1) return null;
        var delimiter = payload[header - 1];
        var rows = new List<string[]>();
        var dropped = false;
        using (var csv = CsvReader.Create(new MemoryStream(Encoding.UTF8.GetBytes(payload)), new CsvReaderOptions
               {
                   Separator = delimiter, HasHeader = false, FieldCountMismatch = CsvFieldCountHandling.Allow, MissingField = CsvMissingFieldHandling.ReturnEmpty,
               }))
        {
            while (csv.Read())
            {
                var row = new string[csv.FieldCount];
                for (var i = 0; i < row.Length; i++) row[i] = csv.GetStringOrNull(i) ?? "";
                if (rows.Count > 0 && row.Take(2).Any(f => person.Contains(f.Trim()))) { dropped = true; continue; }
                rows.Add(row);
            }
        }
        if (!dropped) return null;
        using var buffer = new MemoryStream();
        using (var w = CsvWriter.Create(buffer, new CsvWriterOptions { Separator = delimiter }, leaveOpen: true))
            foreach (var row in rows) w.WriteRecord(row);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
