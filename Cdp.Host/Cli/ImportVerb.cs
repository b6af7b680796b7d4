using System.Net.Http.Headers;
using System.Net.Http.Json;
using Cdp.Modules.Collection.Contracts;
using Spectre.Console;

namespace Cdp.Host.Cli;

/// <summary>
/// cdp import &lt;file.csv&gt; --source &lt;name&gt; --map field=Column,... [--event &lt;name&gt;] [--delimiter ;] [--encoding latin1]
///            [--server http://host:5080 --key &lt;admin key&gt;]
/// Without --server the file is imported into the database directly (the server must not be running on it).
/// </summary>
internal static class ImportVerb
{
    /// <summary>The verb's parsed arguments (see CdpCommandLine).</summary>
    internal sealed record ImportArguments(string? File, string? Source, string? Map, string? Event, string Delimiter, string? Encoding, string? Server, string? Key);

    public static async Task<int> RunAsync(ImportArguments cli, string[] settings)
    {
        if (cli.File is not { } path) throw new ArgumentException("usage: import <file.csv> --source <name> --map field=Column,... [--event <name>] [--delimiter ;] [--encoding latin1]");
        if (!File.Exists(path)) throw new ArgumentException($"no such file: {path}");
        var d = cli.Delimiter;
        var delimiter = d == "\\t" ? '\t' : d.Length == 1 ? d[0] : throw new ArgumentException("--delimiter must be one character");
        var request = new CsvImportRequest(CliArgs.Required(cli.Source, "source"), [CliArgs.Required(cli.Map, "map")], cli.Event, Path.GetFileName(path), delimiter, cli.Encoding);

        CsvImportReport report;
        try
        {
            if (cli.Server is { } server)
                report = await UploadAsync(path, request, server, CliArgs.Required(cli.Key, "key"));
            else
                report = await ImportLocallyAsync(path, request, settings);
        }
        catch (CsvImportStoppedException ex)
        {
            Print(ex.Report);
            Console.Error.WriteLine($"import: {ex.Message}");
            return 1; // stopped part-way: the rows before the line are imported
        }
        Print(report);
        return report.Failed > 0 ? 3 : 0;
    }

    private static async Task<CsvImportReport> ImportLocallyAsync(string path, CsvImportRequest request, string[] settings)
    {
        var builder = CdpApp.CreateBuilder([.. settings, "--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"]);
        var app = CdpApp.Build(builder);
        await using (app)
        {
            CdpApp.ValidateSettings(app.Services);
            await app.StartAsync();
            var import = app.Services.GetRequiredService<ICsvImport>();
            await using var file = File.OpenRead(path);
            CsvImportReport? report = null;
            await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask($"importing {Path.GetFileName(path)}", maxValue: Math.Max(1, file.Length));
                    // reported on the importer's own thread (Progress<T> would post each report to the thread pool, where
                    // a late one could read the file after it was closed: an unhandled exception ended the verb)
                    var progress = new InlineProgress<CsvImportProgress>(p =>
                    {
                        if (file.CanSeek) task.Value = file.Position; // false once the importer closed the file
                        task.Description = $"{p.RowsRead:N0} rows, {p.Imported:N0} imported, {p.Failed:N0} failed";
                    });
                    report = await import.ImportAsync(file, request, progress, CancellationToken.None);
                    task.Value = task.MaxValue;
                });
            await app.StopAsync();
            return report!;
        }
    }

    private static async Task<CsvImportReport> UploadAsync(string path, CsvImportRequest request, string server, string key)
    {
        using var client = new HttpClient { BaseAddress = new Uri(server), Timeout = TimeSpan.FromHours(2) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        await using var file = File.OpenRead(path);
        using var content = new StreamContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        var query = $"/api/collection/imports?source={Uri.EscapeDataString(request.Source)}&map={Uri.EscapeDataString(string.Join(",", request.Map))}" +
                    $"&fileName={Uri.EscapeDataString(request.FileName ?? "")}&delimiter={Uri.EscapeDataString(request.Delimiter.ToString())}" +
                    (request.Event is { } e ? $"&event={Uri.EscapeDataString(e)}" : "") +
                    (request.Encoding is { } enc ? $"&encoding={Uri.EscapeDataString(enc)}" : "");
        AnsiConsole.MarkupLine($"uploading [bold]{Markup.Escape(path)}[/] to {Markup.Escape(server)}...");
        using var response = await client.PostAsync(query, content);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync();
            if (Stopped(body) is { } stopped) throw stopped;
            throw new CsvImportRejectedException($"the server answered {(int)response.StatusCode}: {body}");
        }
        return (await response.Content.ReadFromJsonAsync<CsvImportReport>())!;
    }

    /// <summary>The server's "Import stopped" problem (the rows before its line were imported), or null for any other answer.</summary>
    private static CsvImportStoppedException? Stopped(string body)
    {
        try
        {
            var problem = System.Text.Json.JsonDocument.Parse(body).RootElement;
            if (!problem.TryGetProperty("report", out var report)) return null;
            return new CsvImportStoppedException(problem.GetProperty("detail").GetString() ?? "the import stopped",
                problem.GetProperty("line").GetInt64(), problem.GetProperty("byteOffset").GetInt64(),
                System.Text.Json.JsonSerializer.Deserialize<CsvImportReport>(report, System.Text.Json.JsonSerializerOptions.Web)!);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    private static void Print(CsvImportReport report)
    {
        AnsiConsole.MarkupLine($"[bold]{report.RowsRead:N0}[/] rows read, [green]{report.Imported:N0}[/] imported, " +
                               $"{report.AlreadyImported:N0} already imported, [red]{report.Failed:N0}[/] failed, in {report.Duration.TotalSeconds:N1} s");
        if (report.Errors.Count == 0) return;
        var table = new Table().AddColumns("row", "column", "reason");
        foreach (var e in report.Errors.Take(50)) table.AddRow(e.Row.ToString(), Markup.Escape(e.Column), Markup.Escape(e.Reason));
        AnsiConsole.Write(table);
        if (report.Errors.Count > 50) AnsiConsole.MarkupLine($"... and {report.Errors.Count - 50:N0} more errors (the report keeps the first {CsvImportReport.MaxReportedErrors:N0})");
    }
}

/// <summary>An <see cref="IProgress{T}"/> that runs its handler at once, on the reporting thread.</summary>
internal sealed class InlineProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
