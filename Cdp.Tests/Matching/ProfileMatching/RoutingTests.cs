using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using static Cdp.Tests.Matching.ProfileMatching.MatchingHost;

namespace Cdp.Tests.Matching.ProfileMatching;

public sealed class RoutingTests
{
    [Fact]
    public async Task Thresholds_route_profile_pairs_to_merge_review_or_nothing_and_a_merge_is_explained_and_survives_a_reprocess()
    {
        using var host = Start();
        await host.Seed(Jon, John, Mary1, Mary2, Ann, Bob);
        var admin = host.AdminClient();

        var run = await admin.Run();

        run.Int("profiles").Should().Be(6);
        run.Int("profilesCompared").Should().Be(6, "the first run compares every profile created since matching last ran");
        run.Int("autoMerged").Should().Be(1);
        run.Int("queuedForReview").Should().Be(1);
        run.Int("pairsAboveReview").Should().Be(2);
        run.GetProperty("candidatePairsPerRule").EnumerateArray().Single(r => r.GetProperty("rule").GetString() == "lastName+birthday")
            .GetProperty("pairs").GetInt64().Should().Be(3, "Smith, Jones and Lee pairs share surname and birthday");

        var jon = await admin.ProfileId("anonymous_id:jon");
        (await admin.ProfileId("anonymous_id:john")).Should().Be(jon, "Jon and John Smith score 0.9995");
        (await admin.ProfileId("anonymous_id:ann")).Should().NotBe(await admin.ProfileId("anonymous_id:bob"), "Ann and Bob Lee score 0.03");

        var merge = (await admin.Profile(jon, "merges"))!.Value.GetProperty("merges").EnumerateArray().Single();
        var record = await admin.GetFromJsonAsync<JsonElement>("/api/identity/merges/" + merge.GetProperty("id").GetString());
        record.GetProperty("rule").GetString().Should().Be("probabilistic");
        record.GetProperty("decidedBy").GetString().Should().Be("auto");
        record.GetProperty("matchWeight").GetDouble().Should().BeApproximately(11, 1e-9);
        record.GetProperty("score").GetDouble().Should().BeApproximately(1 / (1 + Math.Pow(2, -11)), 1e-9);
        var comparisons = record.GetProperty("comparisons").EnumerateArray().ToList();
        comparisons.Should().HaveCount(8);
        comparisons[0].GetProperty("level").GetString().Should().Be("JaroWinkler>=0.92");
        comparisons[0].GetProperty("weight").GetDouble().Should().Be(3);
        comparisons.Select(c => c.GetProperty("weight").GetDouble()).Sum().Should().BeApproximately(11 - PriorWeight, 1e-9);
        var why = await admin.GetFromJsonAsync<JsonElement>("/api/identity/why?a=anonymous_id:jon&b=anonymous_id:john");
        why.GetProperty("samePerson").GetBoolean().Should().BeTrue();
        why.GetProperty("path").EnumerateArray().Single().GetProperty("rule").GetString().Should().Be("probabilistic");

        var queue = await admin.Review();
        queue.Int("total").Should().Be(1);
        var item = queue.GetProperty("items").EnumerateArray().Single();
        item.GetProperty("score").GetDouble().Should().BeApproximately(1 / (1 + Math.Pow(2, -5)), 1e-9);
        item.GetProperty("matchWeight").GetDouble().Should().BeApproximately(5, 1e-9);
        item.GetProperty("reason").ValueKind.Should().Be(JsonValueKind.Null);
        item.GetProperty("left").GetProperty("traits").GetProperty("firstName").GetString().Should().Be("Mary");
        item.GetProperty("right").GetProperty("identifiers").EnumerateArray().Select(i => i.GetProperty("type").GetString() + ":" + i.GetProperty("value").GetString())
            .Should().BeEquivalentTo("anonymous_id:mary2", "email:mary@x.example");
        item.GetProperty("comparisons").EnumerateArray().Select(c => c.GetProperty("name").GetString()).Should().StartWith(["firstName", "lastName", "birthday"]);

        var before = ProjectionSnapshot.Take(host.Service<CdpDatabase>());
        (await admin.PostAsync("/api/profiles/reprocess", null)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await host.Processed();
        ProjectionSnapshot.Take(host.Service<CdpDatabase>()).Should().Be(before, "a rebuild from the log equals the incremental state, probabilistic merges included");
        (await admin.ProfileId("anonymous_id:john")).Should().Be(jon, "a reprocess applies the probabilistic merge again");
        (await admin.Profile(jon, "merges"))!.Value.GetProperty("merges").EnumerateArray().Single().GetProperty("id").GetString()
            .Should().Be(merge.GetProperty("id").GetString());
        (await admin.Run(full: true)).Int("autoMerged").Should().Be(0, "nothing new to merge");
    }

    [Fact]
    public async Task A_probabilistic_merge_can_be_unmerged_and_the_next_run_leaves_the_pair_apart()
    {
        using var host = Start();
        await host.Seed(Jon, John);
        var admin = host.AdminClient();
        (await admin.Run()).Int("autoMerged").Should().Be(1);
        var jon = await admin.ProfileId("anonymous_id:jon");
        var mergeId = (await admin.Profile(jon, "merges"))!.Value.GetProperty("merges").EnumerateArray().Single().GetProperty("id").GetString();

        (await admin.PostAsync($"/api/identity/merges/{mergeId}/unmerge", null)).StatusCode.Should().Be(HttpStatusCode.OK);

        var john = await admin.ProfileId("anonymous_id:john");
        john.Should().NotBe(jon);
        (await admin.Profile(john))!.Value.GetProperty("traits").GetProperty("firstName").GetString().Should().Be("John");
        (await admin.GetFromJsonAsync<JsonElement>("/api/identity/why?a=anonymous_id:jon&b=anonymous_id:john")).GetProperty("samePerson").GetBoolean().Should().BeFalse();
        var again = await admin.Run(full: true);
        again.Int("autoMerged").Should().Be(0);
        again.Int("skippedAsRejected").Should().Be(1, "an unmerged probabilistic pair counts as rejected");
        (await admin.ProfileId("anonymous_id:john")).Should().Be(john);
        (await admin.PostAsync("/api/profiles/reprocess", null)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await host.Processed();
        (await admin.ProfileId("anonymous_id:john")).Should().NotBe(await admin.ProfileId("anonymous_id:jon"), "a reprocess does not bring an unmerged link back");
    }

    [Fact]
    public async Task Never_auto_merges_across_different_user_ids_nor_through_a_quarantined_identifier()
    {
        // MaxProfilesPerIdentifier 2: the third profile joined through shared@ quarantines it (it stays with p_1)
        using var host = Start(new Dictionary<string, string?> { ["Cdp:Identity:MaxProfilesPerIdentifier"] = "2" });
        const string QuinnTraits = """{"firstName":"Quinn","lastName":"Fabray","birthday":"1992-02-02","address":{"postalCode":"OH1","city":"Lima"}}""";
        await host.Seed(
            Identify("q1", QuinnTraits.Replace("}}", "},\"email\":\"shared@x.example\"}")),
            Identify("q2", "{}"),
            """{"type":"track","anonymousId":"q2","event":"Visit","context":{"traits":{"email":"shared@x.example"}}}""",
            Identify("q3", "{}"),
            """{"type":"track","anonymousId":"q3","event":"Visit","context":{"traits":{"email":"shared@x.example"}}}""",
            Identify("quinn-twin", QuinnTraits),
            Peter1, Peter2);
        var admin = host.AdminClient();
        (await admin.GetFromJsonAsync<JsonElement>("/api/identity/quarantine")).GetProperty("entries").EnumerateArray()
            .Should().Contain(e => e.GetProperty("subject").GetString() == "email:shared@x.example");

        var run = await admin.Run();

        run.Int("autoMerged").Should().Be(0);
        run.Int("refusedByRules").Should().Be(2);
        var items = (await admin.Review()).GetProperty("items").EnumerateArray().ToList();
        items.Should().HaveCount(2);
        items.Select(i => i.GetProperty("reason").GetString()).Should().Contain(r => r!.StartsWith("different user_ids"))
            .And.Contain(r => r!.Contains("email:shared@x.example") && r.Contains("quarantined"));
        (await admin.ProfileId("user_id:u-1")).Should().NotBe(await admin.ProfileId("user_id:u-2"));
        (await admin.ProfileId("anonymous_id:q1")).Should().NotBe(await admin.ProfileId("anonymous_id:quinn-twin"));

        foreach (var item in items)
        {
            var response = await admin.PostAsync($"/api/identity/review/{item.GetProperty("id").GetString()}/accept", null);
            response.StatusCode.Should().Be(HttpStatusCode.Conflict, "accepting must not get round the merge rules");
            (await response.Content.ReadAsStringAsync()).Should().Contain("merge rules refuse");
        }
        (await admin.Review()).Int("total").Should().Be(2, "refused accepts leave the pairs pending");
    }
}
