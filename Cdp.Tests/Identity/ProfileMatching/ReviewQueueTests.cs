using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Support;
using static Cdp.Tests.Identity.ProfileMatching.MatchingHost;

namespace Cdp.Tests.Identity.ProfileMatching;

public sealed class ReviewQueueTests
{
    [Fact]
    public async Task Accept_merges_the_pair_with_a_probabilistic_merge_record_and_a_decided_pair_cannot_be_decided_again()
    {
        using var host = Start();
        await host.Seed(Mary1, Mary2);
        var admin = host.AdminClient();
        (await admin.Run()).Int("queuedForReview").Should().Be(1);
        var id = (await admin.Review()).GetProperty("items").EnumerateArray().Single().GetProperty("id").GetString();

        var response = await admin.PostAsync($"/api/identity/review/{id}/accept", null);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var mary = await admin.ProfileId("anonymous_id:mary1");
        accepted.GetProperty("winnerProfileId").GetString().Should().Be(mary);
        (await admin.ProfileId("anonymous_id:mary2")).Should().Be(mary);
        var record = await admin.GetFromJsonAsync<JsonElement>("/api/identity/merges/" + accepted.GetProperty("mergeId").GetString());
        record.GetProperty("rule").GetString().Should().Be("probabilistic");
        record.GetProperty("decidedBy").GetString().Should().Be("review");
        record.GetProperty("matchWeight").GetDouble().Should().BeApproximately(5, 1e-9);
        var item = await admin.GetFromJsonAsync<JsonElement>($"/api/identity/review/{id}");
        item.GetProperty("status").GetString().Should().Be("accepted");
        (await admin.Review("accepted")).Int("total").Should().Be(1);
        (await admin.Review()).Int("total").Should().Be(0);

        (await admin.PostAsync($"/api/identity/review/{id}/accept", null)).StatusCode.Should().Be(HttpStatusCode.Conflict);
        var reject = await admin.PostAsync($"/api/identity/review/{id}/reject", null);
        reject.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await reject.Content.ReadAsStringAsync()).Should().Contain("unmerge");
    }

    [Fact]
    public async Task A_rejected_pair_is_never_suggested_again_even_after_one_side_is_merged_into_another_profile()
    {
        using var host = Start();
        // mary0 is older than both Marys: when mary2's email reaches it later, mary0's profile absorbs Mary 2
        await host.Seed(Identify("mary0", "{}"), Mary1, Mary2);
        var admin = host.AdminClient();
        (await admin.Run()).Int("queuedForReview").Should().Be(1);
        var id = (await admin.Review()).GetProperty("items").EnumerateArray().Single().GetProperty("id").GetString();

        var response = await admin.PostAsync($"/api/identity/review/{id}/reject", null);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString().Should().Be("rejected");
        (await admin.PostAsync($"/api/identity/review/{id}/reject", null)).StatusCode.Should().Be(HttpStatusCode.OK, "rejecting twice changes nothing");
        var again = await admin.Run(full: true);
        again.Int("skippedAsRejected").Should().Be(1);
        again.Int("queuedForReview").Should().Be(0);

        await host.Seed("""{"type":"identify","anonymousId":"mary0","traits":{"email":"mary@x.example"}}""");
        var mary0 = await admin.ProfileId("anonymous_id:mary0");
        (await admin.ProfileId("anonymous_id:mary2")).Should().Be(mary0, "the email joins Mary 2 to the older profile");
        var afterMerge = await admin.Run();
        afterMerge.Int("profilesCompared").Should().Be(1);
        afterMerge.Int("skippedAsRejected").Should().Be(1, "the rejection covers the profile that now holds Mary 2");
        (await admin.Review()).Int("total").Should().Be(0);
        (await admin.Review("rejected")).Int("total").Should().Be(1);
    }

    [Fact]
    public async Task The_review_API_answers_404_for_unknown_pairs_400_for_bad_queries_and_needs_the_admin_role_to_act()
    {
        using var host = Start();
        await host.Seed(Mary1, Mary2);
        var admin = host.AdminClient();
        var reader = host.AdminClient(CdpHost.AnalystKey);

        (await admin.GetAsync("/api/identity/review/rv-nope")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await admin.PostAsync("/api/identity/review/rv-nope/accept", null)).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await admin.PostAsync("/api/identity/review/rv-nope/reject", null)).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await admin.GetAsync("/api/identity/review?status=maybe")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await admin.GetAsync("/api/identity/review?limit=0")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await reader.PostAsync("/api/identity/matching/run", null)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await host.CreateClient().GetAsync("/api/identity/review")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);

        var run = await admin.Run();
        var list = await reader.GetFromJsonAsync<JsonElement>("/api/identity/review?status=pending&limit=50");
        list.Int("total").Should().Be(1);
        var id = list.GetProperty("items").EnumerateArray().Single().GetProperty("id").GetString();
        (await reader.GetAsync($"/api/identity/review/{id}")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await reader.PostAsync($"/api/identity/review/{id}/accept", null)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await reader.PostAsync($"/api/identity/review/{id}/reject", null)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var runs = await reader.GetFromJsonAsync<JsonElement>("/api/identity/matching/runs?limit=20");
        runs.GetProperty("runs").EnumerateArray().Single().GetProperty("id").GetString().Should().Be(run.GetProperty("id").GetString());

        // the pair's profiles merge by an event: accepting it now has nothing left to do
        await host.Seed("""{"type":"identify","anonymousId":"mary1","traits":{"email":"mary@x.example"}}""");
        var accept = await admin.PostAsync($"/api/identity/review/{id}/accept", null);
        accept.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await accept.Content.ReadAsStringAsync()).Should().Contain("already one");
    }
}
