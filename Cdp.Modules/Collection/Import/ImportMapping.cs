using System.Globalization;
using Cdp.Modules.Collection.Contracts;

namespace Cdp.Modules.Collection.Import;

internal enum CellKind { Text, Number, Bool, Date }

/// <summary>One "target[:kind]=Column" pair of an import mapping.</summary>
internal sealed record FieldMapping(string Target, string Column, CellKind Kind)
{
    public static readonly string[] TopLevelTargets = ["userId", "anonymousId", "event", "timestamp", "messageId"];

    public bool IsTrait => Target.StartsWith("traits.", StringComparison.Ordinal);
    public bool IsProperty => Target.StartsWith("properties.", StringComparison.Ordinal);
    public string Name => Target[(Target.IndexOf('.') + 1)..];

    /// <summary>Parses "userId=CustomerID", "traits.age:number=Age"; throws <see cref="CsvImportRejectedException"/> naming the bad pair.</summary>
    public static IReadOnlyList<FieldMapping> Parse(IEnumerable<string> pairs)
    {
        var result = new List<FieldMapping>();
        foreach (var raw in pairs.SelectMany(p => p.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var eq = raw.IndexOf('=');
            if (eq <= 0 || eq == raw.Length - 1)
                throw new CsvImportRejectedException($"mapping '{raw}' must be field=Column, e.g. traits.email=Email");
            var target = raw[..eq].Trim();
            var column = raw[(eq + 1)..].Trim();
            var kind = CellKind.Text;
            var colon = target.IndexOf(':');
            if (colon > 0)
            {
                kind = target[(colon + 1)..].ToLowerInvariant() switch
                {
                    "number" => CellKind.Number,
                    "bool" => CellKind.Bool,
                    "date" => CellKind.Date,
                    "text" or "string" => CellKind.Text,
                    var other => throw new CsvImportRejectedException($"mapping '{raw}': unknown type '{other}'; use number, bool, date or text"),
                };
                target = target[..colon];
            }
            var ok = TopLevelTargets.Contains(target, StringComparer.Ordinal)
                || (target.StartsWith("traits.", StringComparison.Ordinal) && target.Length > 7)
                || (target.StartsWith("properties.", StringComparison.Ordinal) && target.Length > 11);
            if (!ok)
                throw new CsvImportRejectedException(
                    $"mapping '{raw}': '{target}' is not a field; use userId, anonymousId, event, timestamp, messageId, traits.<name> or properties.<name>");
            if (result.Any(m => m.Target == target))
                throw new CsvImportRejectedException($"mapping '{raw}': '{target}' is mapped twice");
            result.Add(new FieldMapping(target, column, kind));
        }
        if (result.Count == 0) throw new CsvImportRejectedException("no mapping given: pass e.g. userId=CustomerID,traits.email=Email");
        if (!result.Any(m => m.Target is "userId" or "anonymousId"))
            throw new CsvImportRejectedException("map a column to userId or anonymousId: every row needs an identity");
        return result;
    }

    private static readonly string[] DateFormats =
        ["yyyy-MM-dd", "yyyyMMdd", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK", "yyyy-MM-dd HH:mm:ssK"];

    /// <summary>Dates in ISO-8601 (or yyyyMMdd); without an offset they are UTC.</summary>
    public static bool TryParseDate(string value, out DateTimeOffset date) =>
        DateTimeOffset.TryParseExact(value, DateFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out date);
}
