using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Tests.Support;
using Xunit.Abstractions;
using static Cdp.Tests.Identity.Matching.MatchingTestSettings;

namespace Cdp.Tests.Identity.ProfileMatching;

/// <summary>
/// The shared fake_1000 set (1,000 CRM rows of 254 people, with typos) imported through the CSV import, one profile per
/// row, then one full matching run with the shipped settings: the review queue holds only open decisions.
/// </summary>
public sealed class ReviewQueueOnLinkageDataTests(ITestOutputHelper output)
{
    private const string Mapping = "anonymousId=unique_id,traits.firstName=first_name,traits.lastName=surname,traits.birthday=dob,traits.address.city=city,traits.email=email";

    [Fact]
    public async Task After_a_full_run_over_fake_1000_no_pending_item_holds_profiles_that_are_already_one_and_no_pair_is_queued_twice()
    {
        using var host = new CdpHost();
        var admin = host.AdminClient();
        var csv = await File.ReadAllTextAsync(TestData("linkage", "fake_1000.csv"));
        var import = await admin.PostAsync("/api/collection/imports?source=web&fileName=fake_1000.csv&map=" + Uri.EscapeDataString(Mapping),
            new StringContent(csv, Encoding.UTF8, "text/csv"));
        import.EnsureSuccessStatusCode();
        await host.Processed();

        var run = await admin.Run(full: true);

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
        output.WriteLine($"run: {run.GetRawText()}");
        output.WriteLine($"pending review items: {items.Count}, distinct profile pairs: {pairs.Distinct().Count()}");

        run.Int("autoMerged").Should().BeGreaterThan(0, "the set is full of duplicates");
        items.Should().NotBeEmpty();
        pairs.Should().OnlyContain(p => p.Item1 != p.Item2, "a pair of profiles that are one is no decision");
        pairs.Should().OnlyHaveUniqueItems("one item per pair of profiles");
    }
}
