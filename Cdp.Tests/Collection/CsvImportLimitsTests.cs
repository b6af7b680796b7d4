using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.Import;
using Cdp.Tests.Support;

namespace Cdp.Tests.Collection;

/// <summary>Hostile CSV files: oversize rows, too many columns, bad quoting, wrong encodings, control characters in ids.</summary>
public sealed class CsvImportLimitsTests : IDisposable
{
    private readonly CdpHost _host = new();

    public void Dispose() => _host.Dispose();

    private Task<CsvImportReport> Import(byte[] csv, string map = "userId=CustomerID,traits.note=Note", string? encoding = null) =>
        _host.Service<ICsvImport>().ImportAsync(new MemoryStream(csv), new CsvImportRequest("web", [map], null, "crm.csv", ',', encoding), null, CancellationToken.None);

    private Task<CsvImportReport> Import(string csv, string map = "userId=CustomerID,traits.note=Note") => Import(Encoding.UTF8.GetBytes(csv), map);

    private List<JsonElement> Logged() =>
        _host.Service<IEventLog>().ReadAfter(0, 100_000).Select(e => JsonDocument.Parse(e.Json).RootElement.Clone()).ToList();

    private List<string?> LoggedUsers() => Logged().Select(e => e.GetProperty("userId").GetString()).ToList();

    private async Task<HttpResponseMessage> Upload(byte[] csv, string map = "userId=CustomerID,traits.note=Note", string? encoding = null)
    {
        var url = "/api/collection/imports?source=web&map=" + Uri.EscapeDataString(map) + "&fileName=crm.csv" + (encoding is null ? "" : "&encoding=" + encoding);
        return await _host.AdminClient().PostAsync(url, new ByteArrayContent(csv));
    }

    [Fact]
    public async Task A_row_over_1_MiB_is_a_row_error_with_its_line_over_the_api_and_the_rows_around_it_are_imported()
    {
        var csv = Encoding.UTF8.GetBytes("CustomerID,Note\nc-1,short\nc-2," + new string('x', 1_500_000) + "\nc-3,short\n");
        var response = await Upload(csv);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var report = (await response.Content.ReadFromJsonAsync<CsvImportReport>())!;
        report.Should().BeEquivalentTo(new { RowsRead = 3L, Imported = 2L, Failed = 1L });
        report.Errors.Should().ContainSingle().Which.Should().Match<CsvRowError>(e => e.Row == 3 && e.Reason.Contains("at most 1,048,576"));
        LoggedUsers().Should().Equal("c-1", "c-3");
    }

    [Fact]
    public async Task A_row_with_200k_columns_is_a_row_error_and_a_header_with_too_many_columns_is_refused()
    {
        var wide = Encoding.UTF8.GetBytes("CustomerID,Note\nc-1,a\nc-2" + string.Concat(Enumerable.Repeat(",1", 200_000)) + "\nc-3,b\n");
        var response = await Upload(wide);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var report = (await response.Content.ReadFromJsonAsync<CsvImportReport>())!;
        report.Errors.Should().ContainSingle().Which.Should().Match<CsvRowError>(e => e.Row == 3 && e.Reason.Contains("200,001 fields"));
        LoggedUsers().Should().Equal("c-1", "c-3");

        var wideHeader = Encoding.UTF8.GetBytes("CustomerID,Note" + string.Concat(Enumerable.Range(0, 200_000).Select(i => ",c" + i)) + "\nc-9,a\n");
        var refused = await Upload(wideHeader);
        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await refused.Content.ReadAsStringAsync()).Should().Contain("the header has 200,002 columns; at most 10,000");
        LoggedUsers().Should().NotContain("c-9");
    }

    private static readonly byte[] Latin1File = Encoding.Latin1.GetBytes("CustomerID,Note\nc-1,Smith\nc-2,Müller\nc-3,Zoë\n");

    [Fact]
    public async Task A_latin1_file_imports_with_its_encoding_and_without_it_stops_at_the_first_invalid_utf8_with_line_and_byte_offset()
    {
        var act = () => Import(Latin1File);
        var stopped = (await act.Should().ThrowAsync<CsvImportStoppedException>()).Which;
        stopped.Line.Should().Be(3);
        stopped.ByteOffset.Should().Be("CustomerID,Note\nc-1,Smith\nc-2,M".Length, "the offset of the byte 0xFC");
        stopped.Message.Should().Contain("line 3: invalid UTF-8 at byte offset 31 (byte 0xFC)").And.Contain("--encoding latin1");
        stopped.Report.Imported.Should().Be(1, "the row before line 3 is imported");
        Logged().Should().NotContain(e => e.GetRawText().Contains('\uFFFD'), "nothing is mangled into U+FFFD");

        var report = await Import(Latin1File, encoding: "latin1");
        report.Should().BeEquivalentTo(new { Imported = 2L, AlreadyImported = 1L, Failed = 0L }, "c-1 was imported by the first attempt");
        Logged().Select(e => e.GetProperty("traits").GetProperty("note").GetString()).Should().Equal("Smith", "Müller", "Zoë");
    }

    [Fact]
    public async Task Over_the_api_invalid_utf8_is_a_400_with_the_line_and_byte_offset_and_encoding_windows_1252_reads_the_euro_sign()
    {
        var response = await Upload(Latin1File);
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("title").GetString().Should().Be("Import stopped");
        problem.GetProperty("line").GetInt64().Should().Be(3);
        problem.GetProperty("byteOffset").GetInt64().Should().Be(31);
        problem.GetProperty("report").GetProperty("imported").GetInt64().Should().Be(1);

        byte[] cp1252 = [.. "CustomerID,Note\nc-7,"u8.ToArray(), 0x80, (byte)'5', (byte)'\n'];
        (await Upload(cp1252, encoding: "windows-1252")).StatusCode.Should().Be(HttpStatusCode.OK);
        Logged().Last().GetProperty("traits").GetProperty("note").GetString().Should().Be("€5");

        var unknown = await Upload(cp1252, encoding: "klingon");
        unknown.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await unknown.Content.ReadAsStringAsync()).Should().Contain("unknown encoding 'klingon'");
    }

    [Fact]
    public async Task An_invalid_utf8_header_is_refused_before_anything_is_imported()
    {
        var act = () => Import(Encoding.Latin1.GetBytes("CustomerID,Straße\nc-1,x\n"), "userId=CustomerID");
        (await act.Should().ThrowAsync<CsvImportRejectedException>()).Which.Message.Should().Contain("line 1: the header is not valid UTF-8");
        Logged().Should().BeEmpty();
    }

    [Fact]
    public async Task An_unterminated_quote_is_an_error_at_its_line_naming_the_lines_it_swallowed_and_the_rows_before_it_are_imported()
    {
        var report = await Import("CustomerID,Note\nc-1,a\nc-2,b\nc-3,\"oops\nc-4,d\nc-5,e\n");
        report.Imported.Should().Be(2);
        report.Failed.Should().Be(1);
        var error = report.Errors.Should().ContainSingle().Which;
        error.Row.Should().Be(4);
        error.Reason.Should().StartWith("unterminated quote").And.Contain("this line and the 2 lines after it");
        LoggedUsers().Should().Equal("c-1", "c-2");
    }

    [Fact]
    public async Task A_stray_quote_costs_its_row_only()
    {
        var report = await Import("CustomerID,Note\nc-1,a\nc-2,5\" screen\nc-3,\"x\"y\nc-4,d\n");
        report.Errors.Select(e => (e.Row, e.Reason.Split(':')[0])).Should().Equal(
            (3L, "a quote inside an unquoted field (quote the field and double the quote"), (4L, "text after the closing quote of a quoted field"));
        LoggedUsers().Should().Equal("c-1", "c-4");
    }

    [Fact]
    public async Task A_record_too_large_to_buffer_stops_the_import_at_its_line_with_the_rows_before_it_imported()
    {
        var csv = "CustomerID,Note\nc-1,a\nc-2,\"" + new string('x', CsvImporter.MaxBufferedRecordBytes + 1_000_000) + "\nc-3,b\n";
        var act = () => Import(csv);
        var stopped = (await act.Should().ThrowAsync<CsvImportStoppedException>()).Which;
        stopped.Line.Should().Be(3);
        stopped.Message.Should().Contain("line 3: a record longer than 16 MiB, most likely a quote that is never closed");
        LoggedUsers().Should().Equal("c-1");
    }

    [Fact]
    public async Task Control_characters_are_refused_in_identifiers_and_kept_in_other_values()
    {
        var report = await Import("CustomerID,Email,Note\nc\u0000-1,a@x.io,n\nc-2,b\u0007@x.io,n\nc-3,c@x.io,tab\there \u0001 =1+1\nc-4\u0085,d@x.io,n\n",
            "userId=CustomerID,traits.email=Email,traits.note=Note");
        report.Errors.Select(e => (e.Row, e.Column, e.Reason.Split(':')[0])).Should().Equal(
            (2L, "CustomerID", "control character U+0000 in userId (position 2)"),
            (3L, "Email", "control character U+0007 in traits.email (position 2)"),
            (5L, "CustomerID", "control character U+0085 in userId (position 4)"));
        var imported = Logged().Single();
        imported.GetProperty("userId").GetString().Should().Be("c-3");
        imported.GetProperty("traits").GetProperty("note").GetString().Should().Be("tab\there \u0001 =1+1", "other values are stored as they are, formulas included");
    }

    [Fact]
    public void The_first_invalid_utf8_sequence_is_found_at_its_byte()
    {
        CsvImporter.InvalidUtf8At("plain ascii"u8).Should().BeNull();
        CsvImporter.InvalidUtf8At("Müller 🙂"u8).Should().BeNull();
        CsvImporter.InvalidUtf8At([(byte)'a', 0xC3, (byte)'b']).Should().Be(1, "a lead byte without its continuation");
        CsvImporter.InvalidUtf8At([(byte)'a', (byte)'b', 0xED, 0xA0, 0x80]).Should().Be(2, "an encoded surrogate");
        CsvImporter.InvalidUtf8At([0xF0, 0x9F, 0x99]).Should().Be(0, "a sequence cut at the end");
    }
}

public sealed class ImportVerbEncodingTests
{
    [Fact]
    public async Task The_import_verb_reports_invalid_utf8_with_exit_code_1_and_imports_the_file_with_encoding_latin1()
    {
        using var folder = new TempFolder();
        var csv = folder.File("latin1.csv");
        await File.WriteAllBytesAsync(csv, Encoding.Latin1.GetBytes("CustomerID,Name\nc-1,Müller\n"));
        string[] common = ["--source", "web", "--map", "userId=CustomerID,traits.name=Name", $"--Cdp:Storage:Path={folder.File("cdp.db")}",
            $"--Cdp:Sources:web:WriteKey={CdpHost.WriteKey}", $"--Cdp:Admin:ApiKeys:ops:Key={CdpHost.AdminKey}"];

        var (exitCode, output) = await CdpProcess.RunToExitAsync(folder.Path, ["import", csv, .. common]);
        exitCode.Should().Be(1, output);
        output.Should().Contain("line 2: invalid UTF-8 at byte offset 21 (byte 0xFC)").And.Contain("--encoding latin1");

        (exitCode, output) = await CdpProcess.RunToExitAsync(folder.Path, ["import", csv, "--encoding", "latin1", .. common]);
        exitCode.Should().Be(0, output);
        output.Should().Contain("1 imported");

        using var cdp = await CdpProcess.StartAsync(folder.Path);
        var page = await cdp.AdminClient().GetFromJsonAsync<JsonElement>("/api/collection/events");
        page.GetProperty("items").EnumerateArray().Single().GetProperty("payload").GetProperty("traits").GetProperty("name").GetString().Should().Be("Müller");
    }
}
