using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using CsvHelper;

namespace Cdp.Modules.Collection.Import;

/// <summary>
/// CSV rows to Segment calls, through the same validation and event log as the HTTP API.
/// Idempotent: a row's messageId is a hash of its source, type and mapped values, and the import ledger remembers
/// every imported messageId (beyond the HTTP dedup window), so a file imported twice adds nothing.
/// </summary>
[Service]
internal sealed class CsvImporter(SourceRegistry sources, EventNormaliser normaliser, EventLogWriter writer, IImportLedger ledger, TimeProvider clock)
    : ICsvImport
{
    /// <summary>Rows per submit to the log writer: one group commit, and the memory bound of an import.</summary>
    public const int RowsPerBatch = 500;

    /// <summary>
    /// Largest row imported, in bytes: a CRM row is a few KB, and the mapped event must fit the Tracking API's 32 KB
    /// anyway. A longer row is a per-row error and the import goes on.
    /// </summary>
    public const int MaxRecordBytes = 1024 * 1024;

    /// <summary>
    /// Largest record the reader buffers (its buffer grows to about twice this): it bounds an import's memory, e.g. when
    /// an unclosed quote near the start of a large file would make the rest of the file one record. A record over it
    /// cannot be skipped (the reader cannot find where it ends): the import stops there, every row before it imported.
    /// </summary>
    public const int MaxBufferedRecordBytes = 16 * 1024 * 1024;

    /// <summary>Most columns in the header or a row: CRM exports have hundreds at most; the header is indexed by name.</summary>
    public const int MaxColumns = 10_000;

    /// <summary>Mapped fields whose values identify someone or something: control characters in them are refused.</summary>
    private static readonly HashSet<string> IdentifierTargets =
        new(["userId", "anonymousId", "messageId", "event", "traits.email", "traits.phone"], StringComparer.Ordinal);

    public async Task<CsvImportReport> ImportAsync(Stream csv, CsvImportRequest request, IProgress<CsvImportProgress>? progress, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var source = sources.ByName(request.Source)
            ?? throw new CsvImportRejectedException($"unknown source '{request.Source}'; configured: {string.Join(", ", sources.Names)}");
        var mappings = FieldMapping.Parse(request.Map);
        if (request.Event is null && mappings.Any(m => m.IsProperty) && mappings.All(m => m.Target != "event"))
            throw new CsvImportRejectedException("properties.* are mapped but no event: pass --event <name> or map event=<Column>");
        var encoding = CsvEncodings.Resolve(request.Encoding);
        var encodingName = CsvEncodings.NameOf(encoding);

        var malformed = new List<CsvMalformedRecord>();
        var options = new CsvReaderOptions
        {
            Separator = request.Delimiter,
            TrimWhitespace = true,
            HasHeader = true,
            MaxRecordSize = MaxBufferedRecordBytes,
            TrackLineNumbers = true,
            Encoding = encoding,
            // bad quoting costs its row, reported with its line; an unclosed quote is reported too (it runs to the end of the file)
            MalformedData = CsvMalformedDataHandling.Skip,
            OnMalformedRecord = malformed.Add,
        };
        await using var parser = CsvReader.Create(csv, options, true);
        try
        {
            await parser.ReadHeaderAsync(cancellationToken);
        }
        catch (CsvFormatException ex)
        {
            throw new CsvImportRejectedException($"line 1: the header cannot be read: {ex.Message}");
        }
        var header = parser.Headers.ToArray();
        if (header.Length == 0) throw new CsvImportRejectedException("the file is empty: the first line must be the header");
        if (header.Length > MaxColumns) throw new CsvImportRejectedException($"line 1: the header has {header.Length:N0} columns; at most {MaxColumns:N0}");
        if (header.Any(h => h.Contains('\uFFFD')))
            throw new CsvImportRejectedException(encoding is null
                ? "line 1: the header is not valid UTF-8; give the file's encoding (--encoding latin1, windows-1252 or utf-16; encoding= on the API)"
                : $"line 1: the header is not valid {encodingName}");
        var columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < header.Length; i++) columns.TryAdd(header[i], i);
        var missing = mappings.Where(m => !columns.ContainsKey(m.Column)).Select(m => m.Column).ToList();
        if (missing.Count > 0)
            throw new CsvImportRejectedException($"column(s) {string.Join(", ", missing.Select(c => $"'{c}'"))} not in the header; the header has: {string.Join(", ", header.Take(100))}{(header.Length > 100 ? ", ..." : "")}");

        var errors = new List<CsvRowError>();
        long rowsRead = 0, imported = 0, already = 0, failed = 0;
        var batch = new List<AcceptedEvent>(RowsPerBatch);
        var fileName = request.FileName ?? "upload.csv";

        void Fail(params IEnumerable<CsvRowError> rowErrors)
        {
            failed++;
            foreach (var e in rowErrors) if (errors.Count < CsvImportReport.MaxReportedErrors) errors.Add(e);
        }

        // the rows before the problem are committed, then the import stops with the report so far
        async Task<CsvImportStoppedException> Stop(long line, long byteOffset, string problem)
        {
            if (batch.Count > 0)
            {
                var (n, dup) = await CommitAsync(batch, cancellationToken);
                imported += n;
                already += dup;
                batch.Clear();
            }
            progress?.Report(new CsvImportProgress(rowsRead, imported, failed));
            var report = new CsvImportReport(rowsRead, imported, already, failed, errors, started.Elapsed);
            return new CsvImportStoppedException(
                $"line {line}: {problem}. The import stopped there: the {rowsRead - 1:N0} rows before line {line} were read and {imported:N0} of them imported; " +
                "import the corrected file again to add the rest (rows already imported are recognised and skipped)", line, byteOffset, report);
        }

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool more;
            try
            {
                more = await parser.ReadAsync(cancellationToken);
            }
            catch (CsvFormatException ex)
            {
                rowsRead++;
                failed++;
                throw await Stop(ex.LineNumber, ex.ByteOffset,
                    $"a record longer than {MaxBufferedRecordBytes / (1024 * 1024)} MiB, most likely a quote that is never closed");
            }
            foreach (var m in malformed)
            {
                rowsRead++;
                Fail(new CsvRowError(m.LineNumber, "", Malformed(m)));
            }
            malformed.Clear();
            if (!more) break;
            rowsRead++;
            var row = parser.LineNumber; // 1-based line in the file (the header is line 1)
            if (encoding is null && InvalidUtf8At(parser.RawRecord) is { } bad)
            {
                var lineOfBad = row + parser.RawRecord[..bad].Count((byte)'\n');
                throw await Stop(lineOfBad, parser.ByteOffset + bad,
                    $"invalid UTF-8 at byte offset {parser.ByteOffset + bad:N0} (byte 0x{parser.RawRecord[bad]:X2}): the file is not UTF-8; " +
                    "give its encoding (--encoding latin1, windows-1252 or utf-16 on the command line, encoding= on the API)");
            }
            if (encoding is { IsSingleByte: false } && parser.RawRecord.IndexOf("\uFFFD"u8) is >= 0 and var replaced)
            {
                throw await Stop(row + parser.RawRecord[..replaced].Count((byte)'\n'), 0, $"the row is not valid {encodingName}");
            }
            if (parser.RawRecord.Length > MaxRecordBytes)
            {
                Fail(new CsvRowError(row, "", $"the row has {parser.RawRecord.Length:N0} bytes; at most {MaxRecordBytes:N0} (1 MiB): not imported"));
                continue;
            }
            if (parser.FieldCount > MaxColumns)
            {
                Fail(new CsvRowError(row, "", $"the row has {parser.FieldCount:N0} fields; at most {MaxColumns:N0}: not imported"));
                continue;
            }
            var rowErrors = new List<CsvRowError>();
            var json = BuildCall(parser, mappings, columns, request.Event, source.Name, fileName, row, rowErrors);
            if (json is not null)
            {
                using var doc = JsonDocument.Parse(json);
                if (normaliser.TryNormalise(doc.RootElement, (int)Math.Min(row, int.MaxValue), null, default, clock.GetUtcNow(), source.Name, out var accepted, out var invalid))
                    batch.Add(accepted!);
                else
                    rowErrors.AddRange(invalid.Select(e => new CsvRowError(row, ColumnOf(mappings, e.Field), e.Message)));
            }
            if (rowErrors.Count > 0) Fail(rowErrors);
            if (batch.Count == RowsPerBatch)
            {
                var (n, dup) = await CommitAsync(batch, cancellationToken);
                imported += n;
                already += dup;
                batch.Clear();
                progress?.Report(new CsvImportProgress(rowsRead, imported, failed));
            }
        }
        if (batch.Count > 0)
        {
            var (n, dup) = await CommitAsync(batch, cancellationToken);
            imported += n;
            already += dup;
        }
        progress?.Report(new CsvImportProgress(rowsRead, imported, failed));
        return new CsvImportReport(rowsRead, imported, already, failed, errors, started.Elapsed);
    }

    /// <summary>Index of the first byte of the first invalid UTF-8 sequence in <paramref name="bytes"/>, or null when it is valid.</summary>
    internal static int? InvalidUtf8At(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return null;
        var i = 0;
        while (i < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[i..], out _, out var consumed) != OperationStatus.Done) return i;
            i += consumed;
        }
        return null;
    }

    private static string Malformed(CsvMalformedRecord m) => m.Reason switch
    {
        CsvMalformedReason.UnterminatedQuote =>
            $"unterminated quote: a quoted field on this line is never closed, so this line and the {m.RawRecord.TrimEnd('\r', '\n').Count(c => c == '\n'):N0} lines " +
            "after it (to the end of the file) were read as one field and none of them was imported; close the quote and import the file again",
        CsvMalformedReason.StrayQuote => "a quote inside an unquoted field (quote the field and double the quote: \"5\"\" screen\"): row not imported",
        CsvMalformedReason.TextAfterClosingQuote => "text after the closing quote of a quoted field: row not imported",
        CsvMalformedReason.LineBreakInQuotes => "a line break inside a quoted field: row not imported",
        var other => $"malformed row ({other}): not imported",
    };

    /// <summary>Skips rows the ledger has seen, appends the rest, then records them in the ledger (after the log commit).</summary>
    private async Task<(long Imported, long Already)> CommitAsync(List<AcceptedEvent> batch, CancellationToken cancellationToken)
    {
        var seen = ledger.Seen(batch.Select(e => e.MessageId).ToList());
        var fresh = batch.Where(e => !seen.Contains(e.MessageId)).DistinctBy(e => e.MessageId).ToList();
        while (true)
        {
            var outcome = await writer.SubmitAsync(fresh, []);
            if (outcome == SubmitOutcome.Committed) break;
            await Task.Delay(100, cancellationToken); // the queue is full: the import waits, it never drops rows
        }
        // at least once: a crash between the log commit and this insert leaves rows the HTTP dedup window still catches
        ledger.Record(fresh.Select(e => e.MessageId).ToList());
        return (fresh.Count, batch.Count - fresh.Count);
    }

    private static byte[]? BuildCall(CsvReader csv, IReadOnlyList<FieldMapping> mappings, Dictionary<string, int> columns,
        string? fixedEvent, string source, string fileName, long row, List<CsvRowError> errors)
    {
        var values = new List<(FieldMapping Mapping, string Value)>(mappings.Count);
        foreach (var m in mappings)
        {
            var value = csv.GetString(columns[m.Column]);
            if (string.IsNullOrEmpty(value)) continue;
            // NUL, other C0 and C1 controls and DEL: an id that looks equal to another one and breaks files and screens
            if (IdentifierTargets.Contains(m.Target) && value.AsSpan().IndexOfAnyInRange('\u0000', '\u001F') is var c0
                && (c0 >= 0 || value.AsSpan().IndexOfAnyInRange('\u007F', '\u009F') >= 0))
            {
                var at = c0 >= 0 ? c0 : value.AsSpan().IndexOfAnyInRange('\u007F', '\u009F');
                errors.Add(new CsvRowError(row, m.Column, $"control character U+{(int)value[at]:X4} in {m.Target} (position {at + 1}): identifiers may not contain control characters"));
                continue;
            }
            values.Add((m, value));
        }
        if (errors.Count > 0) return null;
        var eventName = fixedEvent ?? values.FirstOrDefault(v => v.Mapping.Target == "event").Value;
        var type = string.IsNullOrEmpty(eventName) ? "identify" : "track";
        var explicitId = values.FirstOrDefault(v => v.Mapping.Target == "messageId").Value;
        var messageId = explicitId ?? ContentId(source, type, eventName, values);

        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", type);
            w.WriteString("messageId", messageId);
            if (type == "track") w.WriteString("event", eventName);
            foreach (var (m, value) in values)
            {
                switch (m.Target)
                {
                    case "userId" or "anonymousId": w.WriteString(m.Target, value); break;
                    case "timestamp":
                        if (FieldMapping.TryParseDate(value, out var ts)) w.WriteString("timestamp", ts);
                        else errors.Add(new CsvRowError(row, m.Column, $"'{value}' is not a date (use ISO-8601, e.g. 2024-05-01 or 2024-05-01T10:00:00Z)"));
                        break;
                }
            }
            // identify: traits at the top; track: properties, with any mapped traits in context.traits
            WriteGroup(w, type == "identify" ? "traits" : "properties", values.Where(v => type == "identify" ? v.Mapping.IsTrait : v.Mapping.IsProperty), row, errors);
            w.WritePropertyName("context");
            w.WriteStartObject();
            if (type == "track") WriteGroup(w, "traits", values.Where(v => v.Mapping.IsTrait), row, errors);
            w.WritePropertyName("import");
            w.WriteStartObject();
            w.WriteString("file", fileName);
            w.WriteNumber("row", row);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return errors.Count > 0 ? null : buffer.WrittenSpan.ToArray();
    }

    private static void WriteGroup(Utf8JsonWriter w, string name, IEnumerable<(FieldMapping Mapping, string Value)> values, long row, List<CsvRowError> errors)
    {
        var list = values.ToList();
        if (list.Count == 0) return;
        w.WritePropertyName(name);
        w.WriteStartObject();
        foreach (var (m, value) in list)
        {
            switch (m.Kind)
            {
                case CellKind.Number when decimal.TryParse(value, NumberStyles.Number, CultureInfo.InvariantCulture, out var number):
                    w.WriteNumber(m.Name, number);
                    break;
                case CellKind.Bool when TryParseBool(value, out var flag):
                    w.WriteBoolean(m.Name, flag);
                    break;
                case CellKind.Date when FieldMapping.TryParseDate(value, out var date):
                    w.WriteString(m.Name, date);
                    break;
                case CellKind.Text:
                    w.WriteString(m.Name, value);
                    break;
                default:
                    errors.Add(new CsvRowError(row, m.Column, $"'{value}' is not a {m.Kind.ToString().ToLowerInvariant()}"));
                    break;
            }
        }
        w.WriteEndObject();
    }

    private static bool TryParseBool(string value, out bool flag)
    {
        switch (value.Trim().ToLowerInvariant())
        {
            case "true" or "yes" or "y" or "1": flag = true; return true;
            case "false" or "no" or "n" or "0": flag = false; return true;
            default: flag = false; return false;
        }
    }

    /// <summary>The same row content from the same source always gives the same messageId.</summary>
    private static string ContentId(string source, string type, string? eventName, List<(FieldMapping Mapping, string Value)> values)
    {
        var sb = new StringBuilder(source).Append('\n').Append(type).Append('\n').Append(eventName).Append('\n');
        foreach (var (m, v) in values.OrderBy(v => v.Mapping.Target, StringComparer.Ordinal)) sb.Append(m.Target).Append('=').Append(v).Append('\n');
        return "csv-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())).AsSpan(0, 16));
    }

    private static string ColumnOf(IReadOnlyList<FieldMapping> mappings, string field) =>
        mappings.FirstOrDefault(m => m.Target == field)?.Column ?? field;
}
