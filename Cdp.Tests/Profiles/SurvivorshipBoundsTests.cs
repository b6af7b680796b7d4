using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;

namespace Cdp.Tests.Profiles;

/// <summary>A hostile stream of distinct values cannot grow a profile through MostFrequent's candidates.</summary>
public sealed class SurvivorshipBoundsTests
{
    /// <summary>LiteDB only, whatever CDP_TEST_PROVIDER says: reads the profile documents in cdp.db.</summary>
    private const string LiteDbOnlyBecause = "reads the profile documents in cdp.db";

    private static string Identify(int i, string value) =>
        $$$"""{"type":"identify","userId":"u-flood","traits":{"first_name":"{{{value}}}"},"timestamp":"{{{DateTime.UtcNow.AddMinutes(i - 500).ToString("O")}}}"}""";

    [Fact]
    public async Task Past_MaxCandidates_the_least_frequent_values_are_forgotten_and_a_value_seen_twice_outlasts_a_flood_of_singles()
    {
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause, new Dictionary<string, string?>
        {
            ["Cdp:Profiles:Survivorship:Traits:first_name:Rule"] = "MostFrequent",
            ["Cdp:Profiles:Survivorship:MaxCandidates"] = "5",
        });
        await host.TrackingClient().SendBatch(
            new[] { Identify(0, "thomas"), Identify(1, "thomas") }.Concat(Enumerable.Range(2, 60).Select(i => Identify(i, $"junk-{i}"))));
        await host.Processed();
        var why = (await host.AdminClient().Profile("user_id:u-flood", "traits/why"))!.Value;
        var firstName = why.GetProperty("traits").EnumerateArray().Single(t => t.GetProperty("path").GetString() == "first_name");
        firstName.GetProperty("value").GetString().Should().Be("thomas");
        var candidates = firstName.GetProperty("candidates").EnumerateArray().ToList();
        candidates.Should().HaveCount(5, "MaxCandidates bounds the values kept");
        candidates[0].GetProperty("count").GetInt64().Should().Be(2);
        candidates.Skip(1).Select(c => c.GetProperty("value").GetString()).Should().Equal("junk-61", "junk-60", "junk-59", "junk-58");
    }

    [Fact]
    public async Task Candidates_count_in_MaxTraitBytes_and_a_value_over_it_is_dropped_and_listed_in_skipped()
    {
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause, new Dictionary<string, string?>
        {
            ["Cdp:Profiles:Survivorship:Traits:first_name:Rule"] = "MostFrequent",
            ["Cdp:Profiles:Survivorship:MaxCandidates"] = "1000",
            ["Cdp:Profiles:Limits:MaxTraitBytes"] = "4000",
        });
        await host.TrackingClient().SendBatch(Enumerable.Range(0, 80).Select(i => Identify(i, $"{i:D3}" + new string('x', 100))));
        await host.Processed();
        var profile = (await host.AdminClient().Profile("user_id:u-flood"))!.Value;
        profile.GetProperty("skipped").GetProperty("counts").GetProperty("traits").GetInt64().Should().BeGreaterThan(0);
        profile.GetProperty("skipped").GetProperty("recent")[0].GetProperty("reason").GetString().Should().Contain("survivorship candidates").And.Contain("MaxTraitBytes");
        var doc = host.Service<CdpDatabase>().Collection("profiles").FindAll().Single(d => d.ContainsKey("sv"));
        doc["tb"].AsInt64.Should().BeLessThanOrEqualTo(4000);
        doc["sv"]["first_name"].AsArray.Count.Should().BeInRange(10, 40, "the values that fit in 4,000 bytes, not all 80");
    }
}
