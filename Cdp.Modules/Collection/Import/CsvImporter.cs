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
using LiteDB;

namespace Cdp.Modules.Collection.Import;

/// <summary>
/// CSV rows to Segment calls, through the same validation and event log as the HTTP API.
/// Idempotent: a row's messageId is a hash of its source, type and mapped values, and the import ledger remembers
/// every imported messageId (beyond the HTTP dedup window), so a file imported twice adds nothing.
/// </summary>
[Service]
internal sealed class CsvImporter(SourceRegistry sources, EventNormaliser normaliser, EventLogWriter writer, CdpDatabase db, TimeProvider clock)
    : ICsvImport
{
    public const string Ledger = "import_ledger";

    /// <summary>Rows per submit to the log writer: one group commit, and the memory bound of an import.</summary>
    public const int RowsPerBatch = 500;

    public async Task<CsvImportReport> ImportAsync(Stream csv, CsvImportRequest request, IProgress<CsvImportProgress>? progress, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var source = sources.ByName(request.Source)
            ?? throw new CsvImportRejectedException($"unknown source '{request.Source}'; configured: {string.Join(", ", sources.Names)}");
        var mappings = FieldMapping.Parse(request.Map);
        if (request.Event is null && mappings.Any(m => m.IsProperty) && mappings.All(m => m.Target != "event"))
            throw new CsvImportRejectedException("properties.* are mapped but no event: pass --event <name> or map event=<Column>");

        var options = new CsvReaderOptions
        {
            Separator = request.Delimiter,
            TrimWhitespace = true,
            HasHeader = true,
            MaxRecordSize = 1024 * 1024,
            TrackLineNumbers = true,
        };
        await using var parser = CsvReader.Create(csv, options, true);
        await parser.ReadHeaderAsync(cancellationToken);
        var header = parser.Headers.ToArray();
        if (header.Length == 0) throw new CsvImportRejectedException("the file is empty: the first line must be the header");
        var columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < header.Length; i++) columns.TryAdd(header[i], i);
        var missing = mappings.Where(m => !columns.ContainsKey(m.Column)).Select(m => m.Column).ToList();
        if (missing.Count > 0)
            throw new CsvImportRejectedException($"column(s) {string.Join(", ", missing.Select(c => $"'{c}'"))} not in the header; the header has: {string.Join(", ", header)}");

        var errors = new List<CsvRowError>();
        long rowsRead = 0, imported = 0, already = 0, failed = 0;
        var batch = new List<AcceptedEvent>(RowsPerBatch);
        var fileName = request.FileName ?? "upload.csv";

        while (await parser.ReadAsync(cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            rowsRead++;
            var row = parser.LineNumber; // 1-based line in the file (the header is line 1)
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
            if (rowErrors.Count > 0)
            {
                failed++;
                foreach (var e in rowErrors) if (errors.Count < CsvImportReport.MaxReportedErrors) errors.Add(e);
            }
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

    /// <summary>Skips rows the ledger has seen, appends the rest, then records them in the ledger (after the log commit).</summary>
    private async Task<(long Imported, long Already)> CommitAsync(List<AcceptedEvent> batch, CancellationToken cancellationToken)
    {
        var ledger = db.Collection(Ledger);
        var ids = batch.Select(e => new BsonValue(e.MessageId)).ToList();
        var seen = ledger.Query().Where(Filter.In("_id", ids)).Select((BsonExpression)"{_id}").ToList()
            .Select(d => d["_id"].AsString).ToHashSet(StringComparer.Ordinal);
        var fresh = batch.Where(e => !seen.Contains(e.MessageId)).DistinctBy(e => e.MessageId).ToList();
        while (true)
        {
            var outcome = await writer.SubmitAsync(fresh, []);
            if (outcome == SubmitOutcome.Committed) break;
            await Task.Delay(100, cancellationToken); // the queue is full: the import waits, it never drops rows
        }
        // at least once: a crash between the log commit and this insert leaves rows the HTTP dedup window still catches
        db.InTransaction(d => d.GetCollection(Ledger).Upsert(fresh.Select(e => new BsonDocument { ["_id"] = e.MessageId })));
        return (fresh.Count, batch.Count - fresh.Count);
    }

    private static byte[]? BuildCall(CsvReader csv, IReadOnlyList<FieldMapping> mappings, Dictionary<string, int> columns,
        string? fixedEvent, string source, string fileName, long row, List<CsvRowError> errors)
    {
        var values = new List<(FieldMapping Mapping, string Value)>(mappings.Count);
        foreach (var m in mappings)
        {
            var value = csv.GetString(columns[m.Column]);
            if (!string.IsNullOrEmpty(value)) values.Add((m, value));
        }
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
