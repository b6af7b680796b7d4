using System.Net;
using System.Text.Json;
using Cdp.Tests.Support;

namespace Cdp.Tests.Governance;

/// <summary>
/// An identifier reference in a URL path ("type:value") is the raw path segment percent-decoded exactly once, in every
/// route that takes one (/api/profiles/{reference}..., /api/segments/profiles/{reference}, /api/privacy/profiles/{id}/export).
/// </summary>
public sealed class IdentifierReferenceTests
{
    private static readonly string[] UserIds = ["crm/123", "crm%2F123", "a+b", "ann smith", "50%off", "zoë-ümlaut-名前", "x%252Fy"];

    private static async Task<CdpHost> StartAsync()
    {
        var host = new CdpHost();
        await host.TrackingClient().SendBatch(UserIds.Select((id, i) =>
            JsonSerializer.Serialize(new { type = "identify", userId = id, traits = new { n = i } })));
        await host.Processed();
        return host;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Get(HttpClient admin, string path)
    {
        var response = await admin.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 && response.StatusCode == HttpStatusCode.OK ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    private static int TraitN(JsonElement profile) => profile.GetProperty("traits").GetProperty("n").GetInt32();

    [Fact]
    public async Task A_percent_encoded_slash_is_a_slash_and_never_the_person_whose_id_is_the_literal_text()
    {
        using var host = await StartAsync();
        var admin = host.AdminClient();

        var (status, jane) = await Get(admin, "/api/profiles/user_id:crm%2F123");
        status.Should().Be(HttpStatusCode.OK);
        TraitN(jane).Should().Be(0, "crm%2F123 in a path is the user crm/123");
        jane.Identifiers().Should().Contain("user_id:crm/123");

        var (literalStatus, literal) = await Get(admin, "/api/profiles/user_id:crm%252F123");
        literalStatus.Should().Be(HttpStatusCode.OK);
        TraitN(literal).Should().Be(1, "the user whose id is the text crm%2F123 is reached by encoding its %");

        var export = await Get(admin, "/api/privacy/profiles/user_id:crm%2F123/export");
        export.Status.Should().Be(HttpStatusCode.OK);
        export.Body.GetProperty("profileId").GetString().Should().Be(jane.GetProperty("id").GetString());

        var segments = await Get(admin, "/api/segments/profiles/user_id:crm%2F123");
        segments.Status.Should().Be(HttpStatusCode.OK);
        segments.Body.GetProperty("profile").GetString().Should().Be(jane.GetProperty("id").GetString());

        var timeline = await Get(admin, "/api/profiles/user_id:crm%2F123/timeline");
        timeline.Status.Should().Be(HttpStatusCode.OK);
        timeline.Body.GetRawText().Should().NotContain("crm%2F123");
    }

    [Fact]
    public async Task Every_user_id_is_found_by_its_percent_encoded_reference_in_every_route()
    {
        using var host = await StartAsync();
        var admin = host.AdminClient();

        for (var i = 0; i < UserIds.Length; i++)
        {
            var reference = "user_id:" + Uri.EscapeDataString(UserIds[i]);
            var (status, profile) = await Get(admin, "/api/profiles/" + reference);
            status.Should().Be(HttpStatusCode.OK, UserIds[i]);
            TraitN(profile).Should().Be(i, UserIds[i]);
            var id = profile.GetProperty("id").GetString();
            (await Get(admin, $"/api/profiles/{reference}/identifiers")).Body.GetProperty("id").GetString().Should().Be(id, UserIds[i]);
            (await Get(admin, $"/api/privacy/profiles/{reference}/export")).Body.GetProperty("profileId").GetString().Should().Be(id, UserIds[i]);
            (await Get(admin, $"/api/segments/profiles/{reference}")).Body.GetProperty("profile").GetString().Should().Be(id, UserIds[i]);
        }
    }

    [Fact]
    public async Task A_plus_sign_in_a_path_is_a_plus_and_an_unknown_reference_is_404()
    {
        using var host = await StartAsync();
        var admin = host.AdminClient();

        var (status, plus) = await Get(admin, "/api/profiles/user_id:a+b");
        status.Should().Be(HttpStatusCode.OK);
        TraitN(plus).Should().Be(2);
        (await Get(admin, "/api/profiles/user_id:a%20b")).Status.Should().Be(HttpStatusCode.NotFound, "a space is not a plus");
        (await Get(admin, "/api/profiles/user_id:crm%2F124")).Status.Should().Be(HttpStatusCode.NotFound);
    }
}
