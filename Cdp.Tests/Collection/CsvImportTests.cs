using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Tests.Support;

namespace Cdp.Tests.Collection;

public sealed class CsvImportTests : IDisposable
{
    private CdpHost? _host;

    private CdpHost Host => _host ??= new CdpHost();

    public static TheoryData<string> Providers => CdpHost.Providers;

    public void Dispose() => _host?.Dispose();

    private const string Crm = """
        CustomerID,Email,First Name,Age,VIP,Signed Up
        c-1,jane@example.com,Jane,34,yes,2024-03-01
        c-2,john@example.com,John,41,no,2024-03-02
        """;

    private Task<CsvImportReport> Import(string csv, string map, string? eventName = null) =>
        Host.Service<ICsvImport>().ImportAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)),
            new CsvImportRequest("web", [map], eventName, "crm.csv"), null, CancellationToken.None);

    private List<JsonElement> Logged() =>
        Host.Service<IEventLog>().ReadAfter(0, 100_000).Select(e => JsonDocument.Parse(e.Json).RootElement.Clone()).ToList();

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Each_row_becomes_an_identify_with_typed_traits(string provider)
    {
        _host = await CdpHost.OnAsync(provider);
        var report = await Import(Crm, "userId=CustomerID,traits.email=Email,traits.first_name=First Name,traits.age:number=Age,traits.vip:bool=VIP,timestamp=Signed Up");
        report.Should().BeEquivalentTo(new { RowsRead = 2L, Imported = 2L, AlreadyImported = 0L, Failed = 0L });
        var events = Logged();
        events.Should().HaveCount(2);
        var jane = events[0];
        jane.GetProperty("type").GetString().Should().Be("identify");
        jane.GetProperty("userId").GetString().Should().Be("c-1");
        jane.GetProperty("traits").GetProperty("email").GetString().Should().Be("jane@example.com");
        jane.GetProperty("traits").GetProperty("first_name").GetString().Should().Be("Jane");
        jane.GetProperty("traits").GetProperty("age").GetDecimal().Should().Be(34);
        jane.GetProperty("traits").GetProperty("vip").GetBoolean().Should().BeTrue();
        jane.GetProperty("timestamp").GetDateTimeOffset().Should().Be(new DateTimeOffset(2024, 3, 1, 0, 0, 0, TimeSpan.Zero));
        jane.GetProperty("context").GetProperty("import").GetProperty("row").GetInt32().Should().Be(2);
    }

    [Fact]
    public async Task With_an_event_each_row_becomes_a_track_with_properties()
    {
        const string pos = "Receipt,Customer,Total,When\nr-1,c-1,19.90,2024-05-01T10:00:00Z\n";
        await Import(pos, "userId=Customer,properties.receipt=Receipt,properties.total:number=Total,timestamp=When", "Order Completed");
        var e = Logged().Single();
        e.GetProperty("type").GetString().Should().Be("track");
        e.GetProperty("event").GetString().Should().Be("Order Completed");
        e.GetProperty("properties").GetProperty("total").GetDecimal().Should().Be(19.90m);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Importing_the_same_file_twice_changes_nothing(string provider)
    {
        _host = await CdpHost.OnAsync(provider);
        const string map = "userId=CustomerID,traits.email=Email";
        await Import(Crm, map);
        var again = await Import(Crm, map);
        again.Imported.Should().Be(0);
        again.AlreadyImported.Should().Be(2);
        Logged().Should().HaveCount(2);
    }

    [Fact]
    public async Task Bad_rows_are_reported_with_row_column_and_reason_and_good_rows_are_imported()
    {
        const string csv = "CustomerID,Age,Joined\nc-1,34,2024-01-01\n,40,2024-01-02\nc-3,forty,2024-01-03\nc-4,50,someday\nc-5,51,2024-01-05\n";
        var report = await Import(csv, "userId=CustomerID,traits.age:number=Age,timestamp=Joined");
        report.Imported.Should().Be(2);
        report.Failed.Should().Be(3);
        report.Errors.Should().BeEquivalentTo(new[]
        {
            new CsvRowError(3, "CustomerID", "userId or anonymousId is required"),
            new CsvRowError(4, "Age", "'forty' is not a number"),
            new CsvRowError(5, "Joined", "'someday' is not a date (use ISO-8601, e.g. 2024-05-01 or 2024-05-01T10:00:00Z)"),
        });
        Logged().Select(e => e.GetProperty("userId").GetString()).Should().Equal("c-1", "c-5");
    }

    [Theory]
    [InlineData("userId=Missing", "'Missing' not in the header")]
    [InlineData("traits.email=Email", "map a column to userId or anonymousId")]
    [InlineData("userId=CustomerID,bogus=Email", "'bogus' is not a field")]
    [InlineData("userId=CustomerID,traits.age:integer=Age", "unknown type 'integer'")]
    public async Task An_unusable_mapping_is_rejected_before_anything_is_imported(string map, string message)
    {
        var act = () => Import(Crm, map);
        (await act.Should().ThrowAsync<CsvImportRejectedException>()).Which.Message.Should().Contain(message);
        Logged().Should().BeEmpty();
    }

    [Fact]
    public async Task The_upload_endpoint_imports_for_admins_and_refuses_analysts()
    {
        var url = "/api/collection/imports?source=web&map=" + Uri.EscapeDataString("userId=CustomerID,traits.email=Email") + "&fileName=crm.csv";
        var analyst = await Host.AdminClient(CdpHost.AnalystKey).PostAsync(url, new StringContent(Crm, Encoding.UTF8, "text/csv"));
        analyst.StatusCode.Should().Be(HttpStatusCode.Forbidden);

        var response = await Host.AdminClient().PostAsync(url, new StringContent(Crm, Encoding.UTF8, "text/csv"));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var report = await response.Content.ReadFromJsonAsync<CsvImportReport>();
        report!.Imported.Should().Be(2);

        var bad = await Host.AdminClient().PostAsync("/api/collection/imports?source=nope&map=userId=CustomerID", new StringContent(Crm));
        bad.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await bad.Content.ReadAsStringAsync()).Should().Contain("unknown source 'nope'");
    }

    [Fact]
    public async Task A_large_file_streams_through_in_batches()
    {
        var sb = new StringBuilder("CustomerID,Email\n");
        for (var i = 0; i < 20_000; i++) sb.Append("c-").Append(i).Append(",u").Append(i).Append("@example.com\n");
        var report = await Import(sb.ToString(), "userId=CustomerID,traits.email=Email");
        report.Imported.Should().Be(20_000);
        Host.Service<IEventLog>().LastSequence.Should().Be(20_000);
    }
}

public sealed class ImportVerbTests
{
    public static TheoryData<string> Providers => CdpHost.Providers;

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task The_import_verb_writes_the_rows_into_the_database_and_prints_a_summary(string provider)
    {
        using var folder = new TempFolder();
        var postgres = provider == Cdp.Modules.Shared.Storage.StorageProviders.PostgreSql ? await PostgresServer.CreateDatabaseAsync() : null;
        string[] storage = postgres is null ? [] : ["--Cdp:Storage:Provider=PostgreSql", "--Cdp:Storage:ConnectionString=" + postgres];
        var csv = folder.File("crm.csv");
        await File.WriteAllTextAsync(csv, "CustomerID,Email,Age\nc-1,jane@example.com,34\nc-2,john@example.com,abc\n");
        string[] args = ["import", csv, "--source", "web", "--map", "userId=CustomerID,traits.email=Email,traits.age:number=Age",
            $"--Cdp:Storage:Path={folder.File("cdp.db")}", $"--Cdp:Sources:web:WriteKey={CdpHost.WriteKey}",
            $"--Cdp:Admin:ApiKeys:ops:Key={CdpHost.AdminKey}", .. storage];
        var (exitCode, output) = await CdpProcess.RunToExitAsync(folder.Path, args);
        output.Should().Contain("2 rows read").And.Contain("1 imported").And.Contain("1 failed").And.Contain("'abc' is not a number");
        exitCode.Should().Be(3, "some rows failed");

        using var cdp = await CdpProcess.StartAsync(folder.Path, postgres is null ? null
            : new Dictionary<string, string> { ["Cdp:Storage:Provider"] = provider, ["Cdp:Storage:ConnectionString"] = postgres });
        var page = await cdp.AdminClient().GetFromJsonAsync<JsonElement>("/api/collection/events");
        page.GetProperty("items").EnumerateArray().Single().GetProperty("payload").GetProperty("userId").GetString().Should().Be("c-1");
    }
}
