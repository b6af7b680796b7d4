using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Tests.Support;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Identity;

public sealed class UnmergeTests
{
    private const string AnnaPage = """{"type":"page","anonymousId":"anna-laptop","name":"Home","timestamp":"2026-02-01T10:00:00Z"}""";
    private const string AnnaSignUp = """{"type":"identify","anonymousId":"anna-laptop","traits":{"email":"anna@example.com","name":"Anna","plan":"gold"},"timestamp":"2026-02-01T10:05:00Z"}""";
    private const string BobPage = """{"type":"page","anonymousId":"bob-phone","name":"Pricing","timestamp":"2026-02-02T09:00:00Z"}""";
    private const string BobProfile = """{"type":"identify","anonymousId":"bob-phone","traits":{"name":"Bob","address":{"city":"Leeds"}},"timestamp":"2026-02-02T09:01:00Z"}""";
    // Bob types Anna's address into a form: the wrong merge
    private const string BobTypo = """{"type":"identify","anonymousId":"bob-phone","traits":{"email":"anna@example.com"},"timestamp":"2026-02-03T12:00:00Z"}""";
    private const string BobLater = """{"type":"track","anonymousId":"bob-phone","event":"Order Completed","properties":{"revenue":30},"timestamp":"2026-02-04T12:00:00Z"}""";
    private const string AnnaLater = """{"type":"track","anonymousId":"anna-laptop","event":"Order Completed","properties":{"revenue":70},"timestamp":"2026-02-05T12:00:00Z"}""";

    public static TheoryData<string> Providers => CdpHost.Providers;

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Unmerge_restores_both_people_exactly_and_survives_a_reprocess(string provider)
    {
        using var reference = await CdpHost.OnAsync(provider);
        await Run(reference, AnnaPage, AnnaSignUp, BobPage, BobProfile, BobLater, AnnaLater);
        var refAdmin = reference.AdminClient();
        var bobExpected = Comparable((await refAdmin.Profile("anonymous_id:bob-phone"))!.Value);
        var annaExpected = Comparable((await refAdmin.Profile("anonymous_id:anna-laptop"))!.Value);

        using var host = await CdpHost.OnAsync(provider);
        await Run(host, AnnaPage, AnnaSignUp, BobPage, BobProfile, BobTypo, BobLater, AnnaLater);
        var admin = host.AdminClient();
        var merged = (await admin.Profile("anonymous_id:bob-phone"))!.Value;
        merged.GetProperty("id").GetString().Should().Be("p_1");
        merged.GetProperty("traits").GetProperty("name").GetString().Should().Be("Bob", "Bob's identify is newer: this is what a wrong merge does");
        var merge = (await admin.Profile("p_1", "merges"))!.Value.GetProperty("merges").EnumerateArray().Single();
        merge.GetProperty("loser").GetString().Should().Be("p_3");

        var response = await admin.PostAsync($"/api/identity/merges/{merge.GetProperty("id").GetString()}/unmerge", null);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        result.GetProperty("profiles").EnumerateArray().Select(p => p.GetString()).Should().BeEquivalentTo("p_1", "p_3");

        await AssertRestored();
        (await admin.PostAsync("/api/profiles/reprocess", null)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await host.Processed();
        await AssertRestored();

        async Task AssertRestored()
        {
            var bob = (await admin.Profile("anonymous_id:bob-phone"))!.Value;
            var anna = (await admin.Profile("anonymous_id:anna-laptop"))!.Value;
            bob.GetProperty("id").GetString().Should().Be("p_3", "Bob gets his own profile id back");
            Comparable(bob).Should().Be(bobExpected, "Bob is exactly who he would have been without the wrong merge");
            // Anna keeps the address, so the typo event (which carried it) stays with her: one more identify, nothing else
            var annaNow = JsonNode(Comparable(anna));
            var annaRef = JsonNode(annaExpected);
            annaNow["events"]!.GetValue<long>().Should().Be(annaRef["events"]!.GetValue<long>() + 1);
            annaNow["traits"]!.ToJsonString().Should().Be(annaRef["traits"]!.ToJsonString());
            annaNow["identifiers"]!.ToJsonString().Should().Be(annaRef["identifiers"]!.ToJsonString());
            annaNow["computedTraits"]!.ToJsonString().Should().Be(annaRef["computedTraits"]!.ToJsonString());
            var why = await admin.GetFromJsonAsync<JsonElement>("/api/identity/why?a=p_1&b=p_3");
            why.GetProperty("samePerson").GetBoolean().Should().BeFalse();
        }
    }

    [Fact]
    public async Task Unmerging_an_unknown_merge_is_404_and_needs_the_admin_role()
    {
        using var host = new CdpHost();
        (await host.AdminClient().PostAsync("/api/identity/merges/m9-0/unmerge", null)).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await host.AdminClient(CdpHost.AnalystKey).PostAsync("/api/identity/merges/m9-0/unmerge", null)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    private static async Task Run(CdpHost host, params string[] events)
    {
        var web = host.TrackingClient();
        foreach (var e in events) await web.SendBatch([e]); // one request each: the order of the log is the order here
        await host.Processed();
        host.Service<IProfileProcessor>().Status.LastError.Should().BeNull();
    }

    /// <summary>The profile without what depends on arrival time (identifier first/last seen) or on the run (ids).</summary>
    private static string Comparable(JsonElement profile)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(profile.GetRawText())!.AsObject();
        node.Remove("id");
        node.Remove("requested");
        node["identifiers"] = new System.Text.Json.Nodes.JsonArray(profile.Identifiers().Select(i => (System.Text.Json.Nodes.JsonNode)i).ToArray());
        return node.ToJsonString();
    }

    private static System.Text.Json.Nodes.JsonObject JsonNode(string json) => System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
}
