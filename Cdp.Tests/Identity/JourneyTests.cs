using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Support;

namespace Cdp.Tests.Identity;

/// <summary>Identity resolution end to end: real host, real HTTP, a real LiteDB file or PostgreSQL database.</summary>
public sealed class JourneyTests : IDisposable
{
    private CdpHost _host = null!;

    public static TheoryData<string> Providers => CdpHost.Providers;

    public void Dispose() => _host?.Dispose();

    private async Task Start(string provider) => _host = await CdpHost.OnAsync(provider);

    /// <summary>
    /// Jane's journey: pages and a sign-up on her laptop, an e-mail click on her phone (web), then two calls to the call
    /// centre (crm, the strict source). Other tests make their logs with it too (e.g. tracking-plan infer's).
    /// </summary>
    internal static async Task SendJourney(CdpHost host)
    {
        var web = host.TrackingClient();
        var callCentre = host.TrackingClient(CdpHost.StrictWriteKey);
        await web.Send("page", """{"anonymousId":"anon-laptop-1","name":"Dermatology","properties":{"path":"/dermatology"},"timestamp":"2026-01-01T10:00:00Z"}""");
        await web.Send("page", """{"anonymousId":"anon-laptop-1","name":"Book","timestamp":"2026-01-01T10:01:00Z"}""");
        await web.Send("identify", """{"anonymousId":"anon-laptop-1","traits":{"email":" Jane.Doe@Example.com ","firstName":"Jane"},"timestamp":"2026-01-01T10:02:00Z"}""");
        await web.Send("page", """{"anonymousId":"anon-phone-7","name":"Home","timestamp":"2026-01-02T20:00:00Z"}""");
        await web.Send("track", """{"anonymousId":"anon-phone-7","event":"Email Clicked","context":{"traits":{"email":"jane.doe@example.com"}},"timestamp":"2026-01-03T08:00:00Z"}""");
        await callCentre.Send("identify", """{"anonymousId":"call-778","traits":{"email":"JANE.DOE@example.com","phone":"(201) 555-0123","lastName":"Doe"},"timestamp":"2026-01-05T09:00:00Z"}""");
        await callCentre.Send("identify", """{"anonymousId":"call-779","traits":{"phone":"+1 201-555-0123","firstName":"Janet"},"timestamp":"2026-01-06T09:00:00Z"}""");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Anonymous_visit_form_fill_email_click_and_call_centre_end_up_as_one_profile(string provider)
    {
        await Start(provider);
        await SendJourney(_host);
        await _host.Processed();

        var admin = _host.AdminClient();
        var byEmail = (await admin.Profile("email:jane.doe@example.com"))!.Value;
        var id = byEmail.GetProperty("id").GetString();
        (await admin.ProfileId("phone:+12015550123")).Should().Be(id);
        (await admin.ProfileId("anonymous_id:anon-laptop-1")).Should().Be(id);
        (await admin.ProfileId("anonymous_id:anon-phone-7")).Should().Be(id);
        (await admin.ProfileId("anonymous_id:call-779")).Should().Be(id);
        id.Should().Be("p_1", "the first event created the profile and the oldest profile wins merges");
        byEmail.Identifiers().Should().BeEquivalentTo(
            "anonymous_id:anon-laptop-1", "anonymous_id:anon-phone-7", "anonymous_id:call-778", "anonymous_id:call-779",
            "email:jane.doe@example.com", "phone:+12015550123");
        byEmail.GetProperty("events").GetInt64().Should().Be(7);
        byEmail.GetProperty("traits").GetProperty("firstName").GetString().Should().Be("Janet", "the newest timestamp wins");
        byEmail.GetProperty("traits").GetProperty("lastName").GetString().Should().Be("Doe");
        byEmail.GetProperty("sources").EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("web", "crm");

        var list = await admin.GetFromJsonAsync<JsonElement>("/api/profiles");
        list.GetProperty("profiles").GetArrayLength().Should().Be(1);

        var merges = (await admin.Profile(id!, "merges"))!.Value.GetProperty("merges");
        merges.GetArrayLength().Should().Be(1, "only the phone's anonymous profile had to be merged, by the email click");
        var merge = merges[0];
        merge.GetProperty("rule").GetString().Should().Be("deterministic:email+anonymous_id");
        merge.GetProperty("matchedIdentifier").GetString().Should().Be("email:jane.doe@example.com");
        merge.GetProperty("joiningIdentifier").GetString().Should().Be("anonymous_id:anon-phone-7");
        merge.GetProperty("loser").GetString().Should().Be("p_4");

        var why = await admin.GetFromJsonAsync<JsonElement>("/api/identity/why?a=anonymous_id:anon-phone-7&b=anonymous_id:anon-laptop-1");
        why.GetProperty("samePerson").GetBoolean().Should().BeTrue();
        why.GetProperty("path").GetArrayLength().Should().Be(1);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Timeline_pages_newest_first_with_a_cursor(string provider)
    {
        await Start(provider);
        var web = _host.TrackingClient();
        await web.SendBatch(Enumerable.Range(1, 7).Select(i => $$"""{"type":"track","anonymousId":"a1","event":"E{{i}}"}"""));
        await _host.Processed();
        var admin = _host.AdminClient();
        var first = (await admin.Profile("anonymous_id:a1", "timeline?limit=3"))!.Value;
        first.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event").GetString()).Should().Equal("E7", "E6", "E5");
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = await admin.GetFromJsonAsync<JsonElement>($"/api/profiles/anonymous_id:a1/timeline?limit=5&cursor={cursor}");
        second.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event").GetString()).Should().Equal("E4", "E3", "E2", "E1");
        second.GetProperty("nextCursor").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Profile_api_answers_404_for_unknown_and_400_for_malformed_references_and_needs_a_key(string provider)
    {
        await Start(provider);
        var admin = _host.AdminClient();
        (await admin.GetAsync("/api/profiles/p_999")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await admin.GetAsync("/api/profiles/email:nobody@example.com")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await admin.GetAsync("/api/profiles/nonsense")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await admin.GetAsync("/api/profiles?limit=0")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await _host.CreateClient().GetAsync("/api/profiles")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await _host.AdminClient(CdpHost.AnalystKey).PostAsync("/api/profiles/reprocess", null)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }
}
