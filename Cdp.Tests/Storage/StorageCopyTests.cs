using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Host.Cli;
using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.Copy;
using Cdp.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Npgsql;

namespace Cdp.Tests.Storage;

/// <summary>
/// <c>storage copy --to</c>: a LiteDB installation made by the real host (the identity journey, an account, a dead letter,
/// segments from settings and from the API, a sync run to CSV files, a deletion with its suppressions and receipts, the
/// audit log of all that) copied into an empty PostgreSQL database, which then answers every admin read the same.
/// </summary>
public sealed class StorageCopyTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly TempFolder _out = new();

    public void Dispose()
    {
        _out.Dispose();
        _folder.Dispose();
    }

    private Dictionary<string, string?> Settings() => new()
    {
        ["Cdp:Storage:Provider"] = StorageProviders.LiteDb, // the installation to copy, whatever CDP_TEST_PROVIDER says
        ["Cdp:Segments:with-email:Name"] = "With an e-mail",
        ["Cdp:Segments:with-email:Where"] = "traits.email exists",
        ["Cdp:Destinations:drop:Type"] = "CsvFile",
        ["Cdp:Destinations:drop:Folder"] = _out.Path,
        ["Cdp:Syncs:export:Segment"] = "with-email",
        ["Cdp:Syncs:export:Destination"] = "drop",
        ["Cdp:Syncs:export:Enabled"] = "false",
        ["Cdp:Syncs:export:MaxRemovalShare"] = "1",
        ["Cdp:Syncs:export:FieldMappings:first_name"] = "traits.firstName",
    };

    /// <summary>The verb's settings: the host's, as command-line overrides.</summary>
    private string[] VerbSettings() =>
    [
        $"--Cdp:Storage:Path={_folder.File("cdp.db")}",
        .. Settings().Select(s => $"--{s.Key}={s.Value}"),
        $"--Cdp:Sources:web:WriteKey={CdpHost.WriteKey}", $"--Cdp:Sources:crm:WriteKey={CdpHost.StrictWriteKey}", "--Cdp:Sources:crm:Strict=true",
    ];

    private static async Task<(int Code, string Output, string Error)> Copy(string to, string[] settings)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await StorageCopyVerb.RunAsync(to, settings, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private async Task MakeInstallation(CdpHost host)
    {
        var web = host.TrackingClient();
        var crm = host.TrackingClient(CdpHost.StrictWriteKey);
        await web.Send("page", """{"anonymousId":"anon-laptop-1","name":"Dermatology","properties":{"path":"/dermatology"},"timestamp":"2026-01-01T10:00:00Z"}""");
        await web.Send("identify", """{"anonymousId":"anon-laptop-1","traits":{"email":" Jane.Doe@Example.com ","firstName":"Jane"},"timestamp":"2026-01-01T10:02:00Z"}""");
        await web.Send("page", """{"anonymousId":"anon-phone-7","name":"Home","timestamp":"2026-01-02T20:00:00Z"}""");
        await web.Send("track", """{"anonymousId":"anon-phone-7","event":"Email Clicked","context":{"traits":{"email":"jane.doe@example.com"}},"timestamp":"2026-01-03T08:00:00Z"}""");
        await crm.Send("identify", """{"anonymousId":"call-778","traits":{"email":"JANE.DOE@example.com","phone":"(201) 555-0123","lastName":"Doe"},"timestamp":"2026-01-05T09:00:00Z"}""");
        await web.Send("identify", """{"userId":"u-bob","traits":{"email":"bob@example.com","firstName":"Bob"},"timestamp":"2026-01-06T09:00:00Z"}""");
        await web.Send("group", """{"userId":"u-bob","groupId":"acme","traits":{"name":"Acme Clinics","plan":"gold"},"timestamp":"2026-01-06T09:01:00Z"}""");
        await web.Send("track", """{"userId":"u-bob","event":"Order Completed","properties":{"revenue":42.5},"timestamp":"2026-01-06T09:02:00Z"}""");
        await web.Send("identify", """{"userId":"u-cy","traits":{"email":"cy@example.com","firstName":"Cy"},"timestamp":"2026-01-07T09:00:00Z"}""");
        // one good event and two without their event name: dead letters (Cy's goes with the deletion below, Bob's stays)
        var batch = await web.PostAsync("/v1/batch", new StringContent("""{"batch":[{"type":"track","userId":"u-cy","event":"Order Completed"},{"type":"track","userId":"u-cy"},{"type":"track","userId":"u-bob"}]}""",
            Encoding.UTF8, "application/json"));
        batch.IsSuccessStatusCode.Should().BeTrue(await batch.Content.ReadAsStringAsync());
        await host.Processed();

        var admin = host.AdminClient();
        var created = await admin.PostAsJsonAsync("/api/segments", new { key = "buyers", name = "Buyers", where = "performed \"Order Completed\" at least 1 time" });
        created.IsSuccessStatusCode.Should().BeTrue(await created.Content.ReadAsStringAsync());
        var run = await host.Service<ISyncOperations>().RunAsync("export", new SyncRunRequest("test"), CancellationToken.None);
        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));

        var cy = await admin.ProfileId("user_id:u-cy");
        var deleted = await admin.DeleteAsync($"/api/privacy/profiles/{cy}");
        deleted.IsSuccessStatusCode.Should().BeTrue(await deleted.Content.ReadAsStringAsync());
        var receiptId = JsonDocument.Parse(await deleted.Content.ReadAsStringAsync()).RootElement.GetProperty("receiptId").GetString();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (JsonDocument.Parse(await admin.GetStringAsync($"/api/privacy/deletions/{receiptId}")).RootElement is var receipt
               && receipt.GetProperty("followUp").TryGetProperty("syncs", out var syncs) && !syncs.GetProperty("complete").GetBoolean())
        {
            DateTime.UtcNow.Should().BeBefore(deadline, $"the erasure job finishes: {receipt}");
            await Task.Delay(100);
        }
        await host.Processed();
    }

    /// <summary>Reads that depend on the moment or on the process, not on the stored data.</summary>
    private static readonly Dictionary<string, string> Volatile = new(StringComparer.Ordinal)
    {
        ["/api/profiles/processor"] = "the processor's rates, lag and timings of this process",
        ["/api/scheduling/recurring"] = "next and last run times of this process's scheduler",
    };

    /// <summary>Values of the moment or of the request, not of the data: the request's trace id, an export's time.</summary>
    private static readonly System.Text.RegularExpressions.Regex Moment = new("\"(traceId|exportedAt)\":\"[^\"]*\"");

    /// <summary>The end of the ingest statistics' window: now.</summary>
    private static readonly System.Text.RegularExpressions.Regex StatsEnd = new("\"to\":\"[^\"]*\"");

    /// <summary>Every GET route of the admin API, its parameters filled from the installation; a route with a parameter this test cannot fill fails it.</summary>
    private static async Task<SortedDictionary<string, string>> ReadEverything(CdpHost host, Dictionary<string, string[]> values, string? only = null)
    {
        var routes = host.Service<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains("GET") == true)
            .Select(e => e.RoutePattern).Where(p => p.RawText!.StartsWith("/api/", StringComparison.Ordinal)).ToList();
        var paths = new List<string>();
        foreach (var route in routes)
        {
            var expanded = new List<string> { route.RawText! };
            foreach (var parameter in route.Parameters)
            {
                values.TryGetValue(parameter.Name, out var candidates).Should().BeTrue($"the test knows values for {{{parameter.Name}}} of {route.RawText}");
                expanded = expanded.SelectMany(p => candidates!.Select(v => System.Text.RegularExpressions.Regex.Replace(p, $@"\{{{parameter.Name}(:[^}}]*)?\}}", Uri.EscapeDataString(v)))).ToList();
            }
            paths.AddRange(expanded);
        }
        paths.AddRange(["/api/identity/why?a=anonymous_id:anon-phone-7&b=anonymous_id:anon-laptop-1", "/api/profiles/search?identifier=email:jane.doe@example.com",
            "/api/profiles/search?trait=firstName&value=Bob",
            "/api/profiles?limit=2", "/api/collection/events?limit=3", "/api/audit?limit=5"]);
        var admin = host.AdminClient();
        var reads = new SortedDictionary<string, string>(StringComparer.Ordinal);
        // the audit log first: every read below is audited in turn
        foreach (var path in paths.Distinct().Where(p => !Volatile.ContainsKey(p) && (only is null || p == only)).OrderBy(p => p.StartsWith("/api/audit", StringComparison.Ordinal) ? 0 : 1))
        {
            var response = await admin.GetAsync(path);
            var body = Moment.Replace(await response.Content.ReadAsStringAsync(), "\"$1\":\"(now)\"");
            if (path.StartsWith("/api/collection/stats", StringComparison.Ordinal) || path.StartsWith("/api/tracking-plans/violations", StringComparison.Ordinal))
                body = StatsEnd.Replace(body, "\"to\":\"(now)\"");
            reads[path] = $"{(int)response.StatusCode} {body}";
        }
        return reads;
    }

    [SkippableFact]
    public async Task A_LiteDB_installation_copied_to_PostgreSQL_answers_every_admin_read_the_same()
    {
        SortedDictionary<string, string> before;
        Dictionary<string, string[]> values;
        using (var lite = new CdpHost(Settings(), _folder))
        {
            await MakeInstallation(lite);
            var admin = lite.AdminClient();
            var jane = await admin.ProfileId("email:jane.doe@example.com");
            var bob = await admin.ProfileId("user_id:u-bob");
            var merge = (await admin.Profile(jane, "merges"))!.Value.GetProperty("merges")[0].GetProperty("id").GetString()!;
            var receipt = (await admin.GetFromJsonAsync<JsonElement>("/api/privacy/deletions")).GetProperty("deletions")[0].GetProperty("receiptId").GetString()!;
            var runId = (await admin.GetFromJsonAsync<JsonElement>("/api/activation/syncs/export/runs"))[0].GetProperty("id").GetInt64();
            values = new Dictionary<string, string[]>
            {
                ["reference"] = [jane, bob, "email:bob@example.com", "p_999"],
                ["profileId"] = [jane, bob],
                ["key"] = ["with-email", "buyers"],
                ["groupId"] = ["acme"],
                ["mergeId"] = [merge],
                ["receiptId"] = [receipt],
                ["name"] = ["export"],
                ["id"] = [runId.ToString(), "no-such-review"],
            };
            before = await ReadEverything(lite, values);
        }

        var database = await PostgresServer.CreateDatabaseAsync();
        var (code, output, error) = await Copy(database, VerbSettings());
        code.Should().Be(0, error + output);
        output.Should().Contain("Identity   nodes").And.Contain("Collection event log").And.Contain("verified").And.Contain("copied and verified");

        // the audit trail writes in the background: what the LiteDB host's reads added is in the file only once it stopped
        using (var reopened = new CdpHost(Settings(), _folder))
            foreach (var audit in before.Keys.Where(k => k.StartsWith("/api/audit", StringComparison.Ordinal)).ToList())
                before[audit] = (await ReadEverything(reopened, values, audit))[audit];

        using var copied = new CdpHost(new Dictionary<string, string?>(Settings())
        {
            ["Cdp:Storage:Provider"] = StorageProviders.PostgreSql,
            ["Cdp:Storage:ConnectionString"] = database,
        }, _folder);
        var after = await ReadEverything(copied, values);

        after.Keys.Should().Equal(before.Keys);
        foreach (var (path, read) in before) after[path].Should().Be(read, $"GET {path} answers the same after the copy");
        before.Count.Should().BeGreaterThan(40);
        before.Values.Count(r => r.StartsWith("200 ", StringComparison.Ordinal)).Should().BeGreaterThan(35, "most reads find data");
    }

    [SkippableFact]
    public async Task Copy_refuses_a_database_that_already_holds_Cdp_data_and_leaves_it_as_it_was()
    {
        using (var lite = new CdpHost(Settings(), _folder))
        {
            await lite.TrackingClient().Send("identify", """{"userId":"u-1","traits":{"email":"one@example.com"}}""");
            await lite.Processed();
        }
        var database = await PostgresServer.CreateDatabaseAsync();
        var first = await Copy(database, VerbSettings());
        first.Code.Should().Be(0, first.Error);

        var (code, _, error) = await Copy(database, VerbSettings());

        code.Should().Be(StorageCopyVerb.Refused);
        error.Should().Contain("already holds Cdp data").And.Contain("cdp_event_log").And.NotContain("Password=");
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM cdp_event_log", connection);
        ((long)(await count.ExecuteScalarAsync())!).Should().Be(1, "nothing was copied twice");
    }

    [Fact]
    public async Task Copy_needs_a_target_and_a_LiteDB_source()
    {
        (await Copy("", VerbSettings())).Should().Match<(int Code, string Output, string Error)>(r => r.Code == CdpCommandLine.BadArguments && r.Error.Contains("--to"));
        var fromPostgres = await Copy("Host=127.0.0.1;Port=1;Database=x", [.. VerbSettings(), "--Cdp:Storage:Provider=PostgreSql", "--Cdp:Storage:ConnectionString=Host=127.0.0.1;Port=1;Database=y"]);
        fromPostgres.Code.Should().Be(StorageCopyVerb.Refused, fromPostgres.Error);
        fromPostgres.Error.Should().Contain("reads a LiteDB installation");
    }

    [Fact]
    public void A_set_whose_target_does_not_read_back_what_was_written_fails_the_copy_naming_it()
    {
        var written = new List<int>();
        var set = CopySet.Of("numbers", () => [1, 2, 3], () => written, c => written.AddRange(c.Where(n => n != 2)));

        var copy = () => set.Run("Test");

        copy.Should().Throw<StorageCopyMismatchException>().WithMessage("Test numbers: copied 3 records*but the target holds 2*");
        var same = new List<int>();
        CopySet.Of("numbers", () => [1, 2, 3], () => same.AsEnumerable().Reverse(), c => same.AddRange(c)).Run("Test")
            .Should().Match<CopiedSet>(s => s.Records == 3, "the order in which a provider lists its records does not matter");
    }
}
