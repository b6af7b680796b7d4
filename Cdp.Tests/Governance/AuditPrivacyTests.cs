using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Governance.Audit;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using LiteDB;

namespace Cdp.Tests.Governance;

/// <summary>The audit log keeps searched values and identifiers only as keyed hashes (issue 22, item 2).</summary>
public sealed class AuditPrivacyTests
{
    /// <summary>LiteDB only, whatever CDP_TEST_PROVIDER says: reads the bytes of LiteDB's files, and upgrades LiteDB's legacy audit records.</summary>
    private const string LiteDbOnlyBecause = "reads the bytes of LiteDB's files, and upgrades LiteDB's legacy audit records";

    private static readonly string[] JanesValues =
    [
        "Jane", "Doe", "Jane%20Doe", "Secret Lane", "Secret%20Lane", "u-jane", "jane.doe@example.com", "jane.doe%40example.com",
    ];

    private static Task<HttpResponseMessage> PostJson(HttpClient client, string path, object body) =>
        client.PostAsync(path, new StringContent(System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));

    /// <summary>Every byte of every document of the audit collection, as LiteDB stores it (BSON), read as UTF-8.</summary>
    private static string RawAuditBytes(CdpHost host) =>
        string.Concat(host.Service<CdpDatabase>().Collection(Cdp.Modules.Governance.Audit.LiteDb.LiteAuditStore.CollectionName).FindAll().ToList()
            .Select(d => Encoding.UTF8.GetString(BsonSerializer.Serialize(d))));

    private static async Task<string> Hash(HttpClient admin, string value)
    {
        var response = await PostJson(admin, "/api/audit/hash", new { value });
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hash").GetString()!;
    }

    [Fact]
    public async Task After_searches_by_name_and_identifier_and_a_deletion_the_audit_log_and_its_bytes_hold_no_searched_value()
    {
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause);
        var admin = host.AdminClient();
        await host.TrackingClient().Send("identify",
            """{"userId":"u-jane","traits":{"name":"Jane Doe","last_name":"Doe","email":"jane.doe@example.com","address":{"street":"12 Secret Lane"}}}""");
        await host.Processed();

        // exactly what the admin UI's searches send
        (await admin.GetAsync("/api/profiles/search?trait=name&value=Jane%20Doe")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await admin.GetAsync("/api/profiles/search?trait=last_name&value=Doe")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await admin.GetAsync("/api/profiles/search?trait=address.street&value=12%20Secret%20Lane")).StatusCode.Should().Be(HttpStatusCode.OK);
        ((int)(await admin.GetAsync("/api/profiles/search?identifier=USER_ID%3Au-jane")).StatusCode).Should().BeLessThan(500);
        (await admin.GetAsync("/api/profiles/user_id:u-jane")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await admin.GetAsync("/api/profiles/" + Uri.EscapeDataString("email:jane.doe@example.com") + "/timeline")).IsSuccessStatusCode.Should().BeTrue();
        var deletion = await PostJson(admin, "/api/privacy/deletions", new { identifierType = "user_id", value = "u-jane" });
        deletion.IsSuccessStatusCode.Should().BeTrue(await deletion.Content.ReadAsStringAsync());

        var page = await admin.GetStringAsync("/api/audit?limit=1000");
        var items = JsonDocument.Parse(page).RootElement.GetProperty("items").EnumerateArray().ToList();
        items.Select(i => i.GetProperty("path").GetString()).Should().Contain(p => p!.StartsWith("/api/profiles/search", StringComparison.Ordinal))
            .And.Contain("/api/privacy/deletions");
        foreach (var value in JanesValues)
        {
            page.Should().NotContainEquivalentOf(value, "GET /api/audit holds no searched value in clear");
            RawAuditBytes(host).Should().NotContainEquivalentOf(value, "the stored audit documents hold no searched value in clear");
        }

        // an auditor with the key can still check a known value
        var nameHash = await Hash(admin, "Jane Doe");
        nameHash.Should().MatchRegex("^#[0-9a-f]{32}$");
        (await Hash(admin, "  JANE DOE ")).Should().Be(nameHash, "values are trimmed and lower-cased before hashing");
        var searches = items.Where(i => i.GetProperty("path").GetString() == "/api/profiles/search").Select(i => i.GetProperty("query").GetString()).ToList();
        searches.Should().Contain($"trait=name&value={Uri.EscapeDataString(nameHash)}");
        searches.Should().Contain($"identifier=USER_ID%3A{Uri.EscapeDataString(await Hash(admin, "u-jane"))}", "the type stays readable, the value is hashed");
        items.Select(i => i.GetProperty("path").GetString()).Should().Contain("/api/profiles/user_id:" + await Hash(admin, "u-jane"));
    }

    [Fact]
    public async Task The_key_is_a_0600_file_beside_the_database_not_inside_it_and_a_restart_keeps_the_hashes()
    {
        using var folder = new TempFolder();
        string first;
        string keyText;
        using (var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause, folder: folder))
        {
            first = await Hash(host.AdminClient(), "jane.doe@example.com");
            var key = host.Service<AuditKey>();
            key.FilePath.Should().Be(folder.File("cdp.db") + ".audit-key");
            keyText = File.ReadAllText(key.FilePath).Trim();
            keyText.Should().MatchRegex("^[0-9a-f]{64}$");
            if (!OperatingSystem.IsWindows()) File.GetUnixFileMode(key.FilePath).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.ReadAllBytes(folder.File("cdp.db")).AsSpan().IndexOf(Encoding.ASCII.GetBytes(keyText)).Should().Be(-1, "the key is not inside cdp.db");
        using (var again = CdpHost.LiteDbOnly(LiteDbOnlyBecause, folder: folder))
            (await Hash(again.AdminClient(), "jane.doe@example.com")).Should().Be(first);
        using var other = CdpHost.LiteDbOnly(LiteDbOnlyBecause);
        (await Hash(other.AdminClient(), "jane.doe@example.com")).Should().NotBe(first, "another installation has another key: no shared dictionary");
    }

    [Fact]
    public async Task Records_written_before_keyed_hashes_are_rewritten_at_start_and_stay_checkable()
    {
        using var folder = new TempFolder();
        var legacyEmailHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("jane.doe@example.com")))[..16];
        var earlier = DateTime.UtcNow.AddMinutes(-5).Ticks; // ids are UTC ticks: retention keeps records of the last year
        using (var db = folder.Database("cdp.db"))
        {
            db.GetCollection(Cdp.Modules.Governance.Audit.LiteDb.LiteAuditStore.CollectionName).Insert(new BsonDocument
            {
                ["_id"] = earlier, ["at"] = DateTime.UtcNow, ["actor"] = "ops", ["method"] = "GET", ["status"] = 200, ["ms"] = 1.0,
                ["path"] = "/api/profiles/search", ["query"] = "trait=name&value=Jane%20Doe&limit=20", ["action"] = "/api/profiles/search",
            });
            db.GetCollection(Cdp.Modules.Governance.Audit.LiteDb.LiteAuditStore.CollectionName).Insert(new BsonDocument
            {
                ["_id"] = earlier + 1, ["at"] = DateTime.UtcNow, ["actor"] = "ops", ["method"] = "GET", ["status"] = 200, ["ms"] = 1.0,
                ["path"] = "/api/profiles/email:#" + legacyEmailHash, ["action"] = "/api/profiles/{reference}",
                ["route"] = new BsonDocument { ["reference"] = "email:#" + legacyEmailHash },
            });
        }
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause, folder: folder);
        var admin = host.AdminClient();
        List<JsonElement> items = [];
        for (var i = 0; i < 200; i++)
        {
            items = (await admin.GetFromJsonAsync<JsonElement>("/api/audit?limit=10")).GetProperty("items").EnumerateArray().ToList();
            if (!items[0].GetProperty("query").GetString()!.Contains("Jane", StringComparison.Ordinal)) break;
            await Task.Delay(50);
        }
        var hashes = await (await PostJson(admin, "/api/audit/hash", new { value = "jane.doe@example.com" })).Content.ReadFromJsonAsync<JsonElement>();
        items[0].GetProperty("query").GetString().Should().Be($"trait=name&value={Uri.EscapeDataString(await Hash(admin, "Jane Doe"))}&limit=20");
        items[1].GetProperty("path").GetString().Should().Be("/api/profiles/email:" + hashes.GetProperty("legacyHash").GetString(),
            "an unkeyed hash becomes the keyed hash of itself: checkable with the key, no longer by a dictionary");
        RawAuditBytes(host).Should().NotContain("Jane").And.NotContain(legacyEmailHash);
    }
}
