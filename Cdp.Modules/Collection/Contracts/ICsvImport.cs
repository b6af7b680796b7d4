namespace Cdp.Modules.Collection.Contracts;

/// <summary>
/// Imports a CSV file (CRM, POS, call centre) into the event log: each row becomes an identify, or a track when an
/// event is mapped, with a messageId derived from the row's content so importing the same file twice changes nothing.
/// </summary>
public interface ICsvImport
{
    /// <summary>Streams <paramref name="csv"/> (memory stays flat); bad rows are reported and never stop good ones.</summary>
    Task<CsvImportReport> ImportAsync(Stream csv, CsvImportRequest request, IProgress<CsvImportProgress>? progress, CancellationToken cancellationToken);
}

/// <param name="Source">a configured source name (Cdp:Sources:&lt;name&gt;)</param>
/// <param name="Map">"field=Column" pairs: userId, anonymousId, event, timestamp, messageId, traits.&lt;name&gt;,
/// properties.&lt;name&gt;, optionally typed with :number, :bool or :date, e.g. "traits.age:number=Age"</param>
/// <param name="Event">a fixed event name: every row becomes a track call</param>
/// <param name="FileName">for the report and the events' context.import</param>
/// <param name="Encoding">the file's character encoding: utf-8 (the default; a byte order mark is honoured), latin1
/// (iso-8859-1), windows-1252, utf-16, or any other name .NET knows (windows-1250, shift_jis...)</param>
public sealed record CsvImportRequest(string Source, IReadOnlyList<string> Map, string? Event = null, string? FileName = null, char Delimiter = ',',
    string? Encoding = null);

public sealed record CsvImportProgress(long RowsRead, long Imported, long Failed);

public sealed record CsvRowError(long Row, string Column, string Reason);

/// <summary>What an import did. <see cref="Errors"/> holds the first <see cref="MaxReportedErrors"/> errors.</summary>
public sealed record CsvImportReport(long RowsRead, long Imported, long AlreadyImported, long Failed, IReadOnlyList<CsvRowError> Errors, TimeSpan Duration)
{
    public const int MaxReportedErrors = 1000;
}

/// <summary>The request itself is unusable (unknown source, bad mapping, missing column): nothing was imported.</summary>
public sealed class CsvImportRejectedException(string message) : Exception(message);

/// <summary>
/// The import stopped part-way at <see cref="Line"/> (the file is not in the given encoding, or a record is too large to
/// read): every row before that line was imported (see <see cref="Report"/>), nothing from it on. Importing the
/// corrected file again adds only the rows not imported yet.
/// </summary>
public sealed class CsvImportStoppedException(string message, long line, long byteOffset, CsvImportReport report) : Exception(message)
{
    public long Line { get; } = line;

    /// <summary>Offset in the file, in bytes, of the problem (e.g. the first invalid UTF-8 sequence).</summary>
    public long ByteOffset { get; } = byteOffset;

    public CsvImportReport Report { get; } = report;
}
