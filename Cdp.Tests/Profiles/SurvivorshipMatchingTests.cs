using Cdp.Tests.Matching.ProfileMatching;
using Cdp.Tests.Support;
using static Cdp.Tests.Matching.ProfileMatching.MatchingHost;

namespace Cdp.Tests.Profiles;

/// <summary>Matching reads profile traits, so a run compares the values the survivorship rules kept, not the last typo.</summary>
public sealed class SurvivorshipMatchingTests
{
    [Fact]
    public async Task A_matching_run_compares_the_surviving_first_name_and_merges_what_the_last_typo_would_have_sent_to_review()
    {
        using var host = Start(new Dictionary<string, string?> { ["Cdp:Profiles:Survivorship:Traits:firstName:Rule"] = "MostFrequent" });
        var later = DateTime.UtcNow.AddMinutes(5);
        await host.Seed(Jon, John,
            $$$"""{"type":"identify","anonymousId":"jon","traits":{"firstName":"Jon"},"timestamp":"{{{later.ToString("O")}}}"}""",
            // the newest record misspells it: most recent would keep "Jxn", which JaroWinkler puts below 0.92 against John (weight 3: review)
            $$$"""{"type":"identify","anonymousId":"jon","traits":{"firstName":"Jxn"},"timestamp":"{{{later.AddMinutes(1).ToString("O")}}}"}""");
        var admin = host.AdminClient();
        (await admin.Profile("anonymous_id:jon", "traits"))!.Value.GetProperty("traits").GetProperty("firstName").GetString().Should().Be("Jon");

        var run = await admin.Run();

        run.GetProperty("autoMerged").GetInt32().Should().Be(1, "Jon and John Smith score 11 with the surviving first name");
        (await admin.ProfileId("anonymous_id:john")).Should().Be(await admin.ProfileId("anonymous_id:jon"));
    }
}
