using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using static Cdp.Tests.Matching.ProfileMatching.MatchingHost;

namespace Cdp.Tests.Matching.ProfileMatching;

/// <summary>Review pairs and probabilistic merge decisions hold compared values (names, streets): they are personal data.</summary>
public sealed class MatchingPrivacyTests
{
    [Fact]
    public async Task Deleting_a_person_erases_their_review_pairs_and_match_decisions_and_export_lists_them_before()
    {
        using var host = Start();
        await host.Seed(Mary1, Mary2);
        var admin = host.AdminClient();
        (await admin.Run()).Int("queuedForReview").Should().Be(1);
        var id = (await admin.Review()).GetProperty("items").EnumerateArray().Single().GetProperty("id").GetString();
        (await admin.PostAsync($"/api/identity/review/{id}/accept", null)).StatusCode.Should().Be(HttpStatusCode.OK);
        var mary = await admin.ProfileId("anonymous_id:mary1");

        var export = await admin.GetFromJsonAsync<JsonElement>($"/api/privacy/profiles/{mary}/export");
        var matching = export.GetProperty("matching");
        matching.GetProperty("reviewPairs").EnumerateArray().Single().GetProperty("id").GetString().Should().Be(id);
        matching.GetProperty("matchDecisions").GetArrayLength().Should().Be(1);

        var deletion = await admin.DeleteAsync($"/api/privacy/profiles/{mary}");

        deletion.StatusCode.Should().Be(HttpStatusCode.OK);
        var erased = (await deletion.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("erased");
        erased.GetProperty("reviewPairs").GetInt64().Should().Be(1);
        erased.GetProperty("matchDecisions").GetInt64().Should().Be(1);
        (await admin.GetAsync($"/api/identity/review/{id}")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        var db = host.Service<CdpDatabase>();
        db.Collection("identity_review").Count().Should().Be(0);
        db.Collection("identity_links").Count().Should().Be(0);
    }
}
