using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Tests.Support;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Identity;

public sealed class MatchingRuleTests : IDisposable
{
    private readonly CdpHost _host = new(new Dictionary<string, string?> { ["Cdp:Identity:MaxProfilesPerIdentifier"] = "4" });

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task Two_users_on_a_shared_device_keep_separate_profiles()
    {
        var web = _host.TrackingClient();
        await web.Send("identify", """{"userId":"u1","anonymousId":"browser-1","traits":{"name":"Ann"},"context":{"device":{"id":"ipad-1"}}}""");
        await web.Send("page", """{"userId":"u1","anonymousId":"browser-1","name":"Home"}""");
        await web.Send("identify", """{"userId":"u2","anonymousId":"browser-1","traits":{"name":"Ben"},"context":{"device":{"id":"ipad-1"}}}""");
        await web.Send("page", """{"userId":"u2","anonymousId":"browser-1","name":"Pricing","context":{"device":{"id":"ipad-1"}}}""");
        await _host.Processed();

        var admin = _host.AdminClient();
        var ann = (await admin.Profile("user_id:u1"))!.Value;
        var ben = (await admin.Profile("user_id:u2"))!.Value;
        ann.GetProperty("id").GetString().Should().NotBe(ben.GetProperty("id").GetString());
        ann.Identifiers().Should().BeEquivalentTo("user_id:u1", "anonymous_id:browser-1", "device_id:ipad-1");
        ben.Identifiers().Should().BeEquivalentTo("user_id:u2");
        ann.GetProperty("traits").GetProperty("name").GetString().Should().Be("Ann");
        ben.GetProperty("traits").GetProperty("name").GetString().Should().Be("Ben");
        ben.GetProperty("events").GetInt64().Should().Be(2);
        ann.GetProperty("merges").GetInt32().Should().Be(0);
    }

    [Fact]
    public async Task Two_users_sharing_an_email_are_not_merged_because_user_id_allows_one_value()
    {
        var web = _host.TrackingClient();
        await web.Send("identify", """{"userId":"mum","anonymousId":"m-1","traits":{"email":"family@example.com"}}""");
        await web.Send("identify", """{"userId":"dad","anonymousId":"d-1","traits":{"email":"family@example.com"}}""");
        await web.Send("track", """{"anonymousId":"d-1","event":"Viewed"}""");
        await _host.Processed();

        var admin = _host.AdminClient();
        var mum = (await admin.Profile("user_id:mum"))!.Value;
        var dad = (await admin.Profile("user_id:dad"))!.Value;
        mum.GetProperty("id").GetString().Should().NotBe(dad.GetProperty("id").GetString());
        mum.Identifiers().Should().Contain("email:family@example.com");
        dad.Identifiers().Should().BeEquivalentTo("user_id:dad", "anonymous_id:d-1");
        dad.GetProperty("events").GetInt64().Should().Be(2);
        (await admin.ProfileId("email:family@example.com")).Should().Be(mum.GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_team_address_used_by_many_visitors_is_quarantined_instead_of_merging_everyone()
    {
        var web = _host.TrackingClient();
        for (var i = 0; i < 8; i++)
        {
            await web.Send("page", $$"""{"anonymousId":"visitor-{{i}}","name":"Home"}""");
            await web.Send("identify", $$$"""{"anonymousId":"visitor-{{{i}}}","traits":{"email":"team@company.com"}}""");
        }
        await _host.Processed();

        var admin = _host.AdminClient();
        var list = await admin.GetFromJsonAsync<JsonElement>("/api/profiles?limit=100");
        list.GetProperty("profiles").GetArrayLength().Should().Be(5, "the address joined 4 profiles (MaxProfilesPerIdentifier) and then stopped merging");
        var team = (await admin.Profile("email:team@company.com"))!.Value;
        team.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()).Should().Contain(w => w!.Contains("team@company.com"));
        var quarantine = await admin.GetFromJsonAsync<JsonElement>("/api/identity/quarantine");
        quarantine.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("subject").GetString()).Should().Contain("email:team@company.com");
        (await admin.Profile("anonymous_id:visitor-7"))!.Value.Identifiers().Should().BeEquivalentTo("anonymous_id:visitor-7");
    }

    [Fact]
    public async Task Blocked_values_never_become_identities_and_never_merge()
    {
        var web = _host.TrackingClient();
        await web.Send("identify", """{"anonymousId":"x-1","userId":"undefined","traits":{"email":"test@test.com","phone":"0000000"}}""");
        await web.Send("identify", """{"anonymousId":"x-2","userId":"undefined","traits":{"email":"test@test.com","phone":"0000000"}}""");
        await web.Send("track", """{"anonymousId":"null","event":"Orphan"}""");
        await _host.Processed();

        var admin = _host.AdminClient();
        var x1 = (await admin.Profile("anonymous_id:x-1"))!.Value;
        var x2 = (await admin.Profile("anonymous_id:x-2"))!.Value;
        x1.GetProperty("id").GetString().Should().NotBe(x2.GetProperty("id").GetString());
        x1.Identifiers().Should().BeEquivalentTo("anonymous_id:x-1");
        (await admin.Profile("email:test@test.com")).Should().BeNull();
        (await admin.Profile("anonymous_id:null")).Should().BeNull();
        _host.Service<IProfileProcessor>().Status.UnattributedSinceStart.Should().Be(1);
    }
}
