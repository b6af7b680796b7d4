using Cdp.Tests.Support;

namespace Cdp.Tests.Profiles;

/// <summary>Cdp:Profiles:CachedProfiles and Cdp:Identity:CachedNodes trade memory for reads, and nothing else.</summary>
public sealed class ProcessorCacheTests
{
    private static readonly string[] People = ["user_id:ana", "email:bo@example.com", "anonymous_id:cy-anon", "user_id:dee"];

    [Fact]
    public async Task Profiles_are_the_same_with_the_caches_off_and_with_tiny_caches()
    {
        var withDefaults = await Profiles(new Dictionary<string, string?>());
        var off = await Profiles(new Dictionary<string, string?> { ["Cdp:Profiles:CachedProfiles"] = "0", ["Cdp:Identity:CachedNodes"] = "0" });
        var tiny = await Profiles(new Dictionary<string, string?> { ["Cdp:Profiles:CachedProfiles"] = "1", ["Cdp:Identity:CachedNodes"] = "1" });

        withDefaults.Should().HaveCount(People.Length);
        withDefaults["user_id:ana"].Should().Contain("\"Viewed\":4").And.Contain("ana@example.com").And.Contain("\"plan\":\"pro\"");
        withDefaults["anonymous_id:cy-anon"].Should().Contain("bo@example.com", "the form fill joined cy's anonymous id and bo's email");
        off.Should().Equal(withDefaults);
        tiny.Should().Equal(withDefaults);
    }

    [Theory]
    [InlineData("Cdp:Profiles:CachedProfiles", "CachedProfiles")]
    [InlineData("Cdp:Identity:CachedNodes", "CachedNodes")]
    public async Task A_negative_cache_size_stops_the_host_naming_the_setting(string key, string name)
    {
        using var folder = new TempFolder();
        var app = Cdp.Host.CdpApp.Build(Cdp.Host.CdpApp.CreateBuilder([$"--Cdp:Storage:Path={folder.File("cdp.db")}", $"--{key}=-1"]));
        await using (app)
        {
            var validate = () => Cdp.Host.CdpApp.ValidateSettings(app.Services);
            validate.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().Which.Message.Should().Contain(name);
        }
    }

    /// <summary>The same events, one request each, processed in batches of 3 (so people come back across batches).</summary>
    private static async Task<Dictionary<string, string>> Profiles(Dictionary<string, string?> settings)
    {
        settings["Cdp:Profiles:BatchSize"] = "3";
        settings["Cdp:Profiles:CatchUpBatchSize"] = "3";
        using var host = new CdpHost(settings);
        var web = host.TrackingClient();
        var at = new DateTime(2026, 5, 1, 9, 0, 0, DateTimeKind.Utc);
        var n = 0;
        string Stamp() => $"\"messageId\":\"m{++n}\",\"timestamp\":\"{at.AddMinutes(n):O}\"";
        for (var round = 0; round < 4; round++)
        {
            await web.Send("track", $$"""{"userId":"ana","event":"Viewed",{{Stamp()}}}""");
            await web.Send("page", $$"""{"anonymousId":"cy-anon","name":"Home",{{Stamp()}}}""");
            await web.Send("identify", $$"""{"userId":"dee","traits":{"round":{{round}}},{{Stamp()}}}""");
            if (round == 1) await web.Send("identify", $$"""{"anonymousId":"cy-anon","traits":{"email":"Bo@Example.com","firstName":"Bo"},{{Stamp()}}}""");
            if (round == 2) await web.Send("identify", $$"""{"userId":"ana","traits":{"email":"ana@example.com","plan":"pro"},{{Stamp()}}}""");
        }
        await host.Processed();
        var admin = host.AdminClient();
        var profiles = new Dictionary<string, string>();
        foreach (var person in People)
        {
            var profile = await admin.Profile(person);
            if (profile is not { } p) continue;
            // identifiers are first and last seen at the server's clock (receivedAt): the one thing two hosts differ in
            var node = System.Text.Json.Nodes.JsonNode.Parse(p.GetRawText())!;
            foreach (var id in node["identifiers"]!.AsArray()) { id!.AsObject().Remove("firstSeen"); id.AsObject().Remove("lastSeen"); }
            profiles[person] = node.ToJsonString();
        }
        return profiles;
    }
}
