using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Support;
using static Cdp.Tests.Matching.ProfileMatching.MatchingHost;

namespace Cdp.Tests.Matching.ProfileMatching;

public sealed class ReviewQueueTests
{
    public static TheoryData<string> Providers => CdpHost.Providers;

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Accept_merges_the_pair_with_a_probabilistic_merge_record_and_a_decided_pair_cannot_be_decided_again(string provider)
    {
        using var host = await StartOn(provider);
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

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_rejected_pair_is_never_suggested_again_even_after_one_side_is_merged_into_another_profile(string provider)
    {
        using var host = await StartOn(provider);
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
        (await admin.GetFromJsonAsync<JsonElement>($"/api/identity/review/{id}")).GetProperty("status").GetString().Should().Be("merged-elsewhere",
            "an item nobody can act on leaves the pending queue");
        (await admin.Review()).Int("total").Should().Be(0);
    }

    [Fact]
    public async Task A_pending_pair_that_an_event_merged_closes_itself_as_merged_elsewhere_when_the_queue_is_read()
    {
        using var host = Start();
        await host.Seed(Mary1, Mary2);
        var admin = host.AdminClient();
        (await admin.Run()).Int("queuedForReview").Should().Be(1);
        var id = (await admin.Review()).GetProperty("items")[0].GetProperty("id").GetString();

        await host.Seed("""{"type":"identify","anonymousId":"mary1","traits":{"email":"mary@x.example"}}""");

        (await admin.Review()).Int("total").Should().Be(0);
        var closed = await admin.GetFromJsonAsync<JsonElement>($"/api/identity/review/{id}");
        closed.GetProperty("status").GetString().Should().Be("merged-elsewhere");
        closed.GetProperty("closed").GetString().Should().StartWith("both profiles are now p_");
        (await admin.Review("merged-elsewhere")).Int("total").Should().Be(1);
        (await admin.PostAsync($"/api/identity/review/{id}/reject", null)).StatusCode.Should().Be(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Pairs_that_an_automatic_merge_of_the_same_run_joins_are_not_queued_and_a_pair_of_profiles_is_one_item()
    {
        using var host = Start();
        // Jon and John auto-merge (+11); Jon2 matches both at review level: after the merge that is one decision, not two
        var jon2 = Identify("jon2", """{"firstName":"Jon","lastName":"Smith","birthday":"1980-01-02"}""");
        await host.Seed(Jon, John, jon2);
        var admin = host.AdminClient();

        var run = await admin.Run();

        run.Int("autoMerged").Should().Be(1);
        var pending = (await admin.Review()).GetProperty("items").EnumerateArray().ToList();
        pending.Should().ContainSingle("Jon2 against Jon and against John is one pair of profiles once Jon and John are one");
        var item = pending[0];
        item.GetProperty("left").GetProperty("profileId").GetString().Should().NotBe(item.GetProperty("right").GetProperty("profileId").GetString());
        item.GetProperty("impact").GetInt32().Should().Be(3, "accepting joins Jon, John and Jon2");
    }

    [Fact]
    public async Task The_pending_queue_puts_the_decision_that_joins_more_profiles_first()
    {
        using var host = Start();
        await host.Seed(Mary1, Mary2, Jon, John, Identify("jon2", """{"firstName":"Jon","lastName":"Smith","birthday":"1980-01-02"}"""));
        var admin = host.AdminClient();
        await admin.Run();

        var items = (await admin.Review()).GetProperty("items").EnumerateArray().ToList();

        items.Select(i => i.GetProperty("impact").GetInt32()).Should().Equal(3, 2);
    }

    [Fact]
    public async Task Bulk_accept_merges_every_pair_above_the_score_and_reports_what_the_rules_refused()
    {
        using var host = Start(new Dictionary<string, string?> { ["Cdp:Identity:MaxSourceProfilesPerMatch"] = "2" });
        var kate1 = Identify("kate1", """{"firstName":"Kate","lastName":"Brown","birthday":"1991-02-03"}""");
        var kate2 = Identify("kate2", """{"firstName":"Kate","lastName":"Brown","birthday":"1991-02-03","email":"kate@x.example"}""");
        var mary3 = Identify("mary3", """{"firstName":"Mary","lastName":"Jones","birthday":"1990-05-06","phone":"+441134960000"}""");
        await host.Seed(Mary1, Mary2, mary3, kate1, kate2);
        var admin = host.AdminClient();
        (await admin.Run()).Int("queuedForReview").Should().Be(4, "three Mary pairs and one Kate pair");
        (await admin.PostAsync("/api/identity/review/accept", null)).StatusCode.Should().Be(HttpStatusCode.BadRequest, "minScore is required");
        (await host.AdminClient(CdpHost.AnalystKey).PostAsync("/api/identity/review/accept?minScore=0.5", null)).StatusCode.Should().Be(HttpStatusCode.Forbidden);

        var response = await admin.PostAsync("/api/identity/review/accept?minScore=0.9", null);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var report = await response.Content.ReadFromJsonAsync<JsonElement>();
        report.Int("considered").Should().Be(4);
        report.Int("accepted").Should().Be(2, "one Mary pair and the Kate pair; a third Mary would make a profile of 3 source profiles");
        report.GetProperty("refused").EnumerateArray().Should().HaveCount(2)
            .And.OnlyContain(r => r.GetProperty("reason").GetString()!.Contains("MaxSourceProfilesPerMatch"));
        (await admin.ProfileId("anonymous_id:kate1")).Should().Be(await admin.ProfileId("anonymous_id:kate2"));
        (await admin.Review()).Int("total").Should().Be(1, "the two refused Mary pairs are one pair of profiles now");
    }

    [Theory]
    [InlineData("1")]
    [InlineData("10001")]
    public void A_cluster_guard_outside_2_to_10000_stops_the_start_naming_the_setting(string value)
    {
        using var folder = new TempFolder();
        var app = Cdp.Host.CdpApp.CreateBuilder([$"--Cdp:Storage:Path={folder.File("cdp.db")}", $"--Cdp:Identity:MaxSourceProfilesPerMatch={value}"]).Build();
        using (app as IDisposable)
        {
            var validate = () => Cdp.Host.CdpApp.ValidateSettings(app.Services);
            validate.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().Which.Message.Should().Contain("MaxSourceProfilesPerMatch");
        }
    }

    [Fact]
    public async Task An_automatic_match_past_the_cluster_guard_goes_to_review_with_the_reason()
    {
        using var host = Start(new Dictionary<string, string?> { ["Cdp:Identity:MaxSourceProfilesPerMatch"] = "2" });
        // Jon and John auto-merge (+11); a third John would make 3 source profiles
        var john2 = Identify("john2", """{"firstName":"John","lastName":"Smith","birthday":"1980-01-02","email":"js@home.example","address":{"street":"12 Main Street","postalCode":"LS1 4AB","city":"Leeds"}}""");
        await host.Seed(Jon, John);
        var admin = host.AdminClient();
        (await admin.Run()).Int("autoMerged").Should().Be(1);
        await host.Seed(john2);

        var run = await admin.Run();

        run.Int("autoMerged").Should().Be(0);
        var item = (await admin.Review()).GetProperty("items").EnumerateArray().Should().ContainSingle().Subject;
        item.GetProperty("reason").GetString().Should().Contain("3 source profiles").And.Contain("MaxSourceProfilesPerMatch");
        (await admin.PostAsync($"/api/identity/review/{item.GetProperty("id").GetString()}/accept", null)).StatusCode.Should().Be(HttpStatusCode.Conflict);
    }
}
