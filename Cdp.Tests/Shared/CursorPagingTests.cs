using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Support;
using static Cdp.Tests.Matching.ProfileMatching.MatchingHost;

namespace Cdp.Tests.Shared;

/// <summary>
/// Every paged endpoint of the admin API pages the same way: limit and cursor in, nextCursor out (null on the last page).
/// Walking each one with a small page reaches its end, sees every item once, and a retired parameter name is a 400
/// instead of page 1 again (the old `after` on /api/profiles looped for ever).
/// </summary>
public sealed class CursorPagingTests
{
    private const int PageSize = 2;

    /// <summary>Three pairs of near-duplicates: each pair scores +5 (review) under MatchingHost's hand-set model.</summary>
    private static readonly string[] People =
    [
        Mary1, Mary2,
        Identify("kate1", """{"firstName":"Kate","lastName":"Brown","birthday":"1991-02-03"}"""),
        Identify("kate2", """{"firstName":"Kate","lastName":"Brown","birthday":"1991-02-03","email":"kate@x.example"}"""),
        Identify("liz1", """{"firstName":"Liz","lastName":"Green","birthday":"1992-04-05"}"""),
        Identify("liz2", """{"firstName":"Liz","lastName":"Green","birthday":"1992-04-05","email":"liz@x.example"}"""),
    ];

    [Fact]
    public async Task Walking_every_paged_endpoint_with_nextCursor_reaches_the_end_and_sees_each_item_once()
    {
        using var host = Start(new Dictionary<string, string?> { ["Cdp:Segments:named:Where"] = "traits.lastName exists" });
        await host.Seed(People);
        var tracking = host.TrackingClient();
        for (var i = 0; i < 5; i++) await tracking.Send("track", $$"""{"anonymousId":"mary1","event":"Viewed {{i}}"}""");
        for (var i = 0; i < 5; i++)
            await tracking.SendBatch(["""{"type":"track","anonymousId":"nobody"}""", $$"""{"type":"track","anonymousId":"other{{i}}","event":"Ok"}"""]);
        await host.Processed();
        var admin = host.AdminClient();
        (await admin.Run()).Int("queuedForReview").Should().Be(3);
        for (var i = 0; i < 3; i++)
            (await admin.PostAsJsonAsync("/api/privacy/suppressions", new { identifierType = "email", value = $"gone{i}@x.example" })).EnsureSuccessStatusCode();
        for (var i = 0; i < 3; i++)
            (await admin.PostAsJsonAsync("/api/privacy/deletions", new { identifierType = "anonymous_id", value = $"other{i}" })).EnsureSuccessStatusCode();
        var profiles = 6 + 5 - 3;

        (await Walk(admin, "/api/profiles", "profiles", e => e.GetProperty("id").GetString()!)).Should().HaveCount(profiles);
        (await Walk(admin, "/api/profiles/anonymous_id:mary1/timeline", "events", e => e.GetProperty("sequence").GetInt64().ToString()))
            .Should().HaveCount(6);
        (await Walk(admin, "/api/collection/events", "items", e => e.GetProperty("sequence").GetInt64().ToString()))
            .Should().HaveCount(6 + 5 + 5, "the log keeps every accepted event, also those of deleted people");
        (await Walk(admin, "/api/collection/dead-letters", "items", e => e.GetProperty("id").GetInt64().ToString())).Should().HaveCount(5);
        (await Walk(admin, "/api/profiles/processor/failures", "items", e => e.GetProperty("sequence").GetInt64().ToString())).Should().BeEmpty();
        (await Walk(admin, "/api/identity/review?status=pending", "items", e => e.GetProperty("id").GetString()!)).Should().HaveCount(3);
        (await Walk(admin, "/api/identity/quarantine", "entries", e => e.GetRawText())).Should().BeEmpty();
        (await Walk(admin, "/api/audit", "items", e => e.GetProperty("id").GetString()!)).Should().HaveCountGreaterThanOrEqualTo(7);
        (await Walk(admin, "/api/privacy/deletions", "deletions", e => e.GetProperty("receiptId").GetString()!)).Should().HaveCount(3);
        (await Walk(admin, "/api/privacy/suppressions", "suppressions", e => e.GetProperty("hash").GetString()!))
            .Should().HaveCountGreaterThanOrEqualTo(3, "a deletion suppresses the deleted person's identifiers too");
        (await Walk(admin, "/api/segments/named/members", "members", e => e.GetString()!)).Should().HaveCount(6);
        (await Walk(admin, "/api/segments/named/history", "entries", e => e.GetProperty("id").GetInt64().ToString())).Should().HaveCount(6);
        (await Walk(admin, "/api/segments/profiles/anonymous_id:mary1/history", "entries", e => e.GetProperty("id").GetInt64().ToString()))
            .Should().HaveCount(1);
    }

    [Fact]
    public async Task A_retired_paging_name_or_a_bad_limit_or_cursor_is_a_400_naming_it()
    {
        using var host = Start(new Dictionary<string, string?> { ["Cdp:Segments:named:Where"] = "traits.lastName exists" });
        await host.Seed(Mary1);
        var admin = host.AdminClient();
        (string Path, string Field)[] cases =
        [
            ("/api/profiles?after=p_1", "after"), ("/api/profiles/anonymous_id:mary1/timeline?before=5", "before"),
            ("/api/collection/events?after=1", "after"), ("/api/collection/dead-letters?before=9", "before"),
            ("/api/profiles/processor/failures?after=0", "after"), ("/api/identity/review?skip=0&take=50", "skip"),
            ("/api/identity/quarantine?take=10", "take"), ("/api/identity/matching/runs?take=10", "take"), ("/api/audit?after=1", "after"),
            ("/api/privacy/deletions?skip=1", "skip"), ("/api/privacy/suppressions?take=1", "take"),
            ("/api/segments/named/members?after=p_1", "after"), ("/api/segments/named/history?before=3", "before"),
            ("/api/segments/named/members?limit=100000", "limit"), ("/api/profiles?limit=501", "limit"), ("/api/profiles?cursor=x", "cursor"),
            ("/api/collection/events?cursor=-1", "cursor"),
        ];

        foreach (var (path, field) in cases)
        {
            var response = await admin.GetAsync(path);

            response.StatusCode.Should().Be(HttpStatusCode.BadRequest, path);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            problem.GetProperty("title").GetString().Should().Contain(field, path);
        }
    }

    [Fact]
    public async Task The_openapi_document_names_cursor_and_limit_on_every_paged_endpoint()
    {
        using var host = Start();

        var document = await host.CreateClient().GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/profiles", "/api/profiles/{reference}/timeline", "/api/collection/events", "/api/collection/dead-letters",
                     "/api/profiles/processor/failures", "/api/identity/review", "/api/identity/quarantine", "/api/audit", "/api/privacy/deletions",
                     "/api/privacy/suppressions", "/api/segments/{key}/members", "/api/segments/{key}/history" })
        {
            paths.TryGetProperty(path, out var item).Should().BeTrue($"{path} is in {string.Join(", ", paths.EnumerateObject().Select(p => p.Name))}");
            var names = item.GetProperty("get").GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
            names.Should().Contain(["cursor", "limit"], path).And.NotContain(["after", "before", "skip", "take"], path);
        }
    }

    /// <summary>Follows nextCursor to the end; fails on a repeated item or a page that hands back the cursor it was given.</summary>
    private static async Task<List<string>> Walk(HttpClient admin, string path, string itemsProperty, Func<JsonElement, string> key)
    {
        var seen = new List<string>();
        string? cursor = null;
        var separator = path.Contains('?') ? "&" : "?";
        for (var pages = 0; pages < 100; pages++)
        {
            var url = $"{path}{separator}limit={PageSize}" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            var response = await admin.GetAsync(url);
            var body = await response.Content.ReadAsStringAsync();
            response.StatusCode.Should().Be(HttpStatusCode.OK, $"{url}: {body}");
            var page = JsonDocument.Parse(body).RootElement;
            var items = page.GetProperty(itemsProperty).EnumerateArray().Select(key).ToList();
            items.Count.Should().BeLessThanOrEqualTo(PageSize, url);
            seen.AddRange(items);
            seen.Should().OnlyHaveUniqueItems(url);
            var next = page.GetProperty("nextCursor");
            if (next.ValueKind == JsonValueKind.Null) return seen;
            next.GetString().Should().NotBe(cursor, $"{url} handed back its own cursor");
            cursor = next.GetString();
        }
        throw new Xunit.Sdk.XunitException($"{path} did not reach its end in 100 pages of {PageSize}");
    }
}
