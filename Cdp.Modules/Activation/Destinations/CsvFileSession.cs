using System.Globalization;
using System.Text.Json;
using CsvHelper;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Engine;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Logging;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>
/// CSV files in a local folder, written to "&lt;name&gt;.tmp" and renamed when complete (a reader never sees half a file):
/// Snapshot = one file with every current member; Changes = "-added" (adds and updates) and "-removed" files.
/// Optionally uploaded by SFTP (again to a temporary name, then renamed). The files are the acknowledgment: the member state
/// is committed only after they are complete (and uploaded). The newest RetainFiles files of the sync are kept.
/// Text cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) get a leading ' (OWASP's advice
/// against CSV injection) unless EscapeFormulas is false; numbers are written as numbers, so -5 stays -5.
/// </summary>
internal sealed class CsvFileSession : IDestinationSession
{
    private readonly SyncTarget _target;
    private readonly ILogger _log;
    private readonly DestinationSettings _d;
    private readonly string[] _header;
    private readonly List<OpenFile> _files = [];
    private readonly OpenFile _upserts;
    private readonly OpenFile? _removals;
    private bool _completed;

    private sealed record OpenFile(string FinalPath, string TempPath, FileStream Stream, CsvWriter Writer);

    public CsvFileSession(SyncTarget target, TimeProvider clock, ILogger log)
    {
        _target = target;
        _log = log;
        _d = target.Destination;
        PrivateFiles.CreateFolder(_d.Folder); // the members' data: 0700 folder, 0600 files (Shared/Storage/PrivateFiles)
        _header = Header(target);
        var stamp = clock.GetUtcNow().UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var stem = $"{target.Sync}-{stamp}-{target.RunId.ToString(CultureInfo.InvariantCulture)}";
        if (_d.Output == CsvOutput.Snapshot)
        {
            _upserts = Open(stem + ".csv", _header);
        }
        else
        {
            _upserts = Open(stem + "-added.csv", _header);
            _removals = Open(stem + "-removed.csv", [target.Settings.Identifier, "profile_id"]);
        }
    }

    public int UpsertBatchSize => DestinationSessions.CsvRows;

    public int RemoveBatchSize => DestinationSessions.CsvRows;

    public bool AcknowledgesAtCompletion => true;

    public bool WantsEveryMember => _d.Output == CsvOutput.Snapshot;

    private static string[] Header(SyncTarget target) =>
        [target.Settings.Identifier, "profile_id", .. target.Settings.FieldMappings.Keys.Order(StringComparer.Ordinal)];

    private CsvWriterOptions Options => WriterOptions(_d);

    private static CsvWriterOptions WriterOptions(DestinationSettings d) =>
        new() { Separator = d.Delimiter, Injection = d.EscapeFormulas ? CsvInjection.Escape : CsvInjection.None };

    private OpenFile Open(string name, string[] header)
    {
        var final = Path.Combine(_d.Folder, name);
        var temp = final + ".tmp";
        var stream = new FileStream(temp, PrivateFiles.Create(FileMode.Create, FileShare.Read, 1 << 16, FileOptions.Asynchronous));
        var writer = CsvWriter.Create(stream, Options, leaveOpen: true);
        writer.WriteHeader(header);
        var file = new OpenFile(final, temp, stream, writer);
        _files.Add(file);
        return file;
    }

    public Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<IReadOnlyDictionary<string, string>> UpsertAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        foreach (var m in members)
        {
            WriteRow(_upserts.Writer, m);
            await _upserts.Writer.EndRecordAsync(cancellationToken);
        }
        return Refusals.None;
    }

    public async Task<IReadOnlyDictionary<string, string>> RemoveAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        if (_removals is null) return Refusals.None; // a snapshot lists who is in; leaving is not being listed
        foreach (var m in members) await _removals.Writer.WriteRecordAsync([m.Key, m.ProfileId], cancellationToken);
        return Refusals.None;
    }

    /// <summary>One member's cells: text through the writer's formula escaping, JSON numbers as numbers (never escaped).</summary>
    private static void WriteRow(CsvWriter w, OutgoingMember m)
    {
        w.WriteField(m.Key);
        w.WriteField(m.ProfileId);
        foreach (var (_, value) in m.Fields)
        {
            if (value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var number)) w.WriteField(number, default);
            else if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var big)) w.WriteField(big, "R");
            else w.WriteField(OutgoingMember.Text(value) ?? "");
        }
    }

    public static string Preview(SyncTarget target, IReadOnlyList<OutgoingMember> members)
    {
        using var buffer = new MemoryStream();
        using (var w = CsvWriter.Create(buffer, WriterOptions(target.Destination), leaveOpen: true))
        {
            w.WriteHeader(Header(target));
            foreach (var m in members.Take(20))
            {
                WriteRow(w, m);
                w.EndRecord();
            }
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        foreach (var f in _files)
        {
            await f.Writer.DisposeAsync();
            await f.Stream.FlushAsync(cancellationToken);
            f.Stream.Flush(flushToDisk: true);
            await f.Stream.DisposeAsync();
            File.Move(f.TempPath, f.FinalPath, overwrite: true);
        }
        _completed = true;
        if (_d.Sftp is { } sftp)
            await SftpUpload.UploadAsync(sftp, _files.Select(f => f.FinalPath).ToList(), cancellationToken);
        ApplyRetention();
    }

    /// <summary>Keeps the newest RetainFiles files of this sync (per kind: snapshot, added, removed).</summary>
    private void ApplyRetention()
    {
        var prefix = _target.Sync + "-";
        var files = Directory.GetFiles(_d.Folder, prefix + "*.csv")
            .Where(f => Path.GetFileName(f).Length > prefix.Length && char.IsDigit(Path.GetFileName(f)[prefix.Length]))
            .GroupBy(f => f.EndsWith("-added.csv", StringComparison.Ordinal) ? 1 : f.EndsWith("-removed.csv", StringComparison.Ordinal) ? 2 : 0);
        foreach (var kind in files)
            foreach (var old in kind.OrderByDescending(f => Path.GetFileName(f), StringComparer.Ordinal).Skip(_d.RetainFiles))
            {
                try { File.Delete(old); }
                catch (IOException ex) { _log.LogWarning("Could not delete {File} (retention): {Error}", old, ex.Message); }
            }
    }

    public async ValueTask DisposeAsync()
    {
        if (_completed) return;
        foreach (var f in _files)
        {
            try
            {
                await f.Writer.DisposeAsync();
                await f.Stream.DisposeAsync();
                File.Delete(f.TempPath); // an unfinished run leaves no file behind
            }
            catch (IOException)
            {
            }
        }
    }
}
