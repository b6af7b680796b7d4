using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Support;

namespace Cdp.Tests.Governance;

/// <summary>GET /api/privacy/deletions: the past deletion receipts, newest first, for admins only.</summary>
public sealed class DeletionReceiptListTests
{
    [Fact]
    public async Task Past_deletions_are_listed_newest_first_with_paging_and_no_personal_data()
    {
        using var host = new CdpHost();
        var people = new[] { "first", "second", "third" };
        await host.TrackingClient().SendBatch(people.Select(p =>
            $$$"""{"type":"identify","userId":"u-{{{p}}}","traits":{"email":"{{{p}}}@example.com","first_name":"{{{p}}}"}}"""));
        await host.Processed();
        var admin = host.AdminClient();
        var deleted = new List<string>();
        foreach (var p in people)
        {
            var id = await admin.ProfileId($"user_id:u-{p}");
            (await admin.DeleteAsync($"/api/privacy/profiles/{id}")).StatusCode.Should().Be(HttpStatusCode.OK);
            deleted.Add(id);
        }

        var all = await admin.GetFromJsonAsync<JsonElement>("/api/privacy/deletions");

        all.GetProperty("count").GetInt64().Should().Be(3);
        var receipts = all.GetProperty("deletions").EnumerateArray().ToList();
        receipts.Select(r => r.GetProperty("profileId").GetString()).Should().Equal(deleted[2], deleted[1], deleted[0]);
        receipts.Should().OnlyContain(r => r.GetProperty("requestedBy").GetString() == "ops"
            && r.GetProperty("receiptId").GetString()!.StartsWith("del_")
            && r.GetProperty("erased").GetProperty("profiles").GetInt64() == 1
            && r.GetProperty("suppressedIdentifiers").GetInt32() == 2);
        all.GetRawText().Should().NotContainAny("u-first", "u-second", "u-third", "example.com", "first_name");
        var single = await admin.GetFromJsonAsync<JsonElement>($"/api/privacy/deletions/{receipts[0].GetProperty("receiptId").GetString()}");
        single.GetRawText().Should().Be(receipts[0].GetRawText(), "the list shows each receipt as GET /deletions/{id} does");

        var page = await admin.GetFromJsonAsync<JsonElement>("/api/privacy/deletions?cursor=1&limit=1");
        page.GetProperty("count").GetInt64().Should().Be(3);
        page.GetProperty("deletions").EnumerateArray().Select(r => r.GetProperty("profileId").GetString()).Should().Equal(deleted[1]);
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("cursor=-1", "cursor")]
    [InlineData("skip=1", "skip")]
    public async Task Bad_paging_is_a_400_naming_the_field(string query, string field)
    {
        using var host = new CdpHost();

        var response = await host.AdminClient().GetAsync("/api/privacy/deletions?" + query);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString().Should().Be(field);
    }

    [Fact]
    public async Task Only_an_admin_key_lists_deletions()
    {
        using var host = new CdpHost();

        (await host.AdminClient(CdpHost.AnalystKey).GetAsync("/api/privacy/deletions")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await host.CreateClient().GetAsync("/api/privacy/deletions")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var empty = await host.AdminClient().GetFromJsonAsync<JsonElement>("/api/privacy/deletions");
        empty.GetProperty("count").GetInt64().Should().Be(0);
        empty.GetProperty("deletions").GetArrayLength().Should().Be(0);
    }
}
