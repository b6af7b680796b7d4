using System.IO.Compression;
using CsvHelper;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>
/// The error report of an errored SendGrid import job (results.errors_url): a CSV file, possibly gzipped, with a header; the
/// column named email holds the contact and the column whose name contains "error" (or "message") says what was wrong.
/// </summary>
internal static class SendGridErrorReport
{
    /// <summary>Most rows read from one report (a batch holds at most 30,000 contacts).</summary>
    private const int MaxRows = 30_000;

    public static IEnumerable<(string Email, string Error)> Rows(byte[] report)
    {
        Stream stream = new MemoryStream(report);
        if (report is [0x1f, 0x8b, ..]) stream = new GZipStream(stream, CompressionMode.Decompress);
        using var csv = CsvReader.Create(stream, new CsvReaderOptions { HasHeader = false }, false);
        if (!csv.Read()) yield break;
        var header = Enumerable.Range(0, csv.FieldCount).Select(i => csv.GetString(i).Trim().ToLowerInvariant()).ToList();
        var email = header.FindIndex(h => h is "email" or "email_address" or "email address");
        var error = header.FindIndex(h => h.Contains("error", StringComparison.Ordinal));
        if (error < 0) error = header.FindIndex(h => h.Contains("message", StringComparison.Ordinal) || h.Contains("reason", StringComparison.Ordinal));
        if (email < 0) throw new InvalidDataException("the report has no email column (columns: " + string.Join(", ", header) + ")");
        for (var n = 0; n < MaxRows && csv.Read(); n++)
        {
            if (csv.FieldCount <= email) continue;
            var address = csv.GetString(email).Trim().ToLowerInvariant();
            if (address.Length == 0) continue;
            var why = error >= 0 && csv.FieldCount > error ? csv.GetString(error).Trim() : "";
            yield return (address, why.Length > 300 ? why[..300] + "..." : why.Length == 0 ? "(no reason given)" : why);
        }
    }
}
