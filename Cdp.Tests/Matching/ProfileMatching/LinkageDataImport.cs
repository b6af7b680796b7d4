using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Tests.Support;
using static Cdp.Tests.Matching.Engine.MatchingTestSettings;

namespace Cdp.Tests.Matching.ProfileMatching;

/// <summary>The shared fake_1000 set imported through the real CSV import, and the review queue read to its end.</summary>
internal static class LinkageDataImport
{
    /// <summary>Imports fake_1000.csv (one profile per row, traits named by <paramref name="mapping"/>) and waits until it is processed.</summary>
    public static async Task ImportFake1000(this CdpHost host, string mapping)
    {
        var csv = await File.ReadAllTextAsync(TestData("linkage", "fake_1000.csv"));
        var import = await host.AdminClient().PostAsync("/api/collection/imports?source=web&fileName=fake_1000.csv&map=" + Uri.EscapeDataString(mapping),
            new StringContent(csv, Encoding.UTF8, "text/csv"));
        import.EnsureSuccessStatusCode();
        await host.Processed();
    }

    /// <summary>Every pending review item, page by page (limit/cursor), and each item's two profiles as an ordered pair.</summary>
    public static async Task<(List<JsonElement> Items, List<(string, string)> Pairs)> PendingReview(this HttpClient admin)
    {
        var items = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var page = await admin.GetFromJsonAsync<JsonElement>("/api/identity/review?limit=500" + (cursor is null ? "" : "&cursor=" + cursor));
            items.AddRange(page.GetProperty("items").EnumerateArray());
            cursor = page.GetProperty("nextCursor").GetString();
        } while (cursor is not null);
        var pairs = items.Select(i => (i.GetProperty("left").GetProperty("profileId").GetString()!, i.GetProperty("right").GetProperty("profileId").GetString()!))
            .Select(p => string.CompareOrdinal(p.Item1, p.Item2) < 0 ? p : (p.Item2, p.Item1)).ToList();
        return (items, pairs);
    }
}
