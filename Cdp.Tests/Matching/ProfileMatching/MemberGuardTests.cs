using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Support;
using static Cdp.Tests.Matching.ProfileMatching.MatchingHost;

namespace Cdp.Tests.Matching.ProfileMatching;

/// <summary>
/// The "members disagree strongly" guard (Cdp:Identity:Matching:MemberGuard) on a chain A~B~C~D where each link looks
/// alike but A and D are different people. With the hand-set model (Exact +5, a near level +3, Else -5, prior -10):
/// A-B 13 - 10 = 3 (p 0.89), B-C 15 - 10 = 5 (p 0.97), C-D 3: review pairs under the shipped thresholds; A-C and B-D
/// weigh -5 on their own comparisons (not a strong disagreement), A-D -25 (at or below -10: the guard's default).
/// </summary>
public sealed class MemberGuardTests
{
    private static string Person(string who, string first, string dob, string email, string street, string postcode, string city) =>
        Identify(who, JsonSerializer.Serialize(new
        {
            firstName = first, lastName = "Berg", birthday = dob, email, address = new { street, postalCode = postcode, city },
        }));

    // A->B: street and city change; B->C: birthday and email; C->D: first name and postcode (emails one letter apart are near, +3)
    private static readonly string A = Person("a", "Anna", "1980-01-02", "anna.berg1@mail.example", "12 Main St", "LS1 4AB", "Leeds");
    private static readonly string B = Person("b", "Anna", "1980-01-02", "anna.berg2@mail.example", "99 Ocean Drive", "LS1 4AB", "Brighton");
    private static readonly string C = Person("c", "Anna", "1975-07-19", "quinn.x1@post.example", "99 Ocean Drive", "LS1 4AB", "Brighton");
    private static readonly string D = Person("d", "Zoe", "1975-07-19", "quinn.x2@post.example", "99 Ocean Drive", "YO8 9ZZ", "Brighton");

    private static readonly Dictionary<string, string?> GuardOff = new() { ["Cdp:Identity:Matching:MemberGuard:Enabled"] = "false" };

    /// <summary>The chain's three pending items, by the anonymous ids of their two sides ("ab", "bc", "cd").</summary>
    private static async Task<Dictionary<string, string>> ChainItems(HttpClient admin)
    {
        var who = new Dictionary<string, string>();
        foreach (var x in new[] { "a", "b", "c", "d" }) who[await admin.ProfileId("anonymous_id:" + x)] = x;
        var items = (await admin.Review()).GetProperty("items").EnumerateArray().ToList();
        return items.ToDictionary(
            i => string.Concat(new[] { who[i.GetProperty("left").GetProperty("profileId").GetString()!], who[i.GetProperty("right").GetProperty("profileId").GetString()!] }.Order()),
            i => i.GetProperty("id").GetString()!);
    }

    [Fact]
    public async Task Accepting_each_pair_of_a_chain_stops_with_409_where_the_members_of_both_sides_disagree_strongly_and_the_item_says_why()
    {
        using var host = Start();
        await host.Seed(A, B, C, D);
        var admin = host.AdminClient();
        (await admin.Run()).Int("queuedForReview").Should().Be(3);
        var items = await ChainItems(admin);
        items.Keys.Should().BeEquivalentTo("ab", "bc", "cd");

        (await admin.PostAsync($"/api/identity/review/{items["ab"]}/accept", null)).StatusCode.Should().Be(HttpStatusCode.OK);
        var second = await admin.PostAsync($"/api/identity/review/{items["bc"]}/accept", null);
        second.StatusCode.Should().Be(HttpStatusCode.OK, "A and C differ in four fields but agree in three: -5, no strong disagreement");
        var third = await admin.PostAsync($"/api/identity/review/{items["cd"]}/accept", null);

        third.StatusCode.Should().Be(HttpStatusCode.Conflict);
        var problem = await third.Content.ReadAsStringAsync();
        problem.Should().Contain("members disagree strongly").And.Contain("-25.0").And.Contain("MemberGuard:DisagreementWeight")
            .And.Contain("'Anna' vs 'Zoe'", "it names the comparisons that weigh against");
        (await admin.ProfileId("anonymous_id:c")).Should().Be(await admin.ProfileId("anonymous_id:a"));
        (await admin.ProfileId("anonymous_id:d")).Should().NotBe(await admin.ProfileId("anonymous_id:a"), "the chain stops before A and D are one");
        var item = await admin.GetFromJsonAsync<JsonElement>($"/api/identity/review/{items["cd"]}");
        item.GetProperty("status").GetString().Should().Be("pending");
        item.GetProperty("reason").GetString().Should().Contain("members disagree strongly");

        // the merge that passed the guard says what the guard found
        var merge = await admin.GetFromJsonAsync<JsonElement>("/api/identity/merges/" + (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("mergeId").GetString());
        merge.GetProperty("memberCheck").GetString().Should().StartWith("members checked:").And.Contain("-5.0");
    }

    [Fact]
    public async Task With_the_member_guard_off_accepting_each_pair_of_a_chain_joins_all_four_records_as_before()
    {
        using var host = Start(GuardOff);
        await host.Seed(A, B, C, D);
        var admin = host.AdminClient();
        (await admin.Run()).Int("queuedForReview").Should().Be(3);
        var items = await ChainItems(admin);

        foreach (var pair in new[] { "ab", "bc", "cd" })
            (await admin.PostAsync($"/api/identity/review/{items[pair]}/accept", null)).StatusCode.Should().Be(HttpStatusCode.OK);

        (await admin.ProfileId("anonymous_id:d")).Should().Be(await admin.ProfileId("anonymous_id:a"));
    }

    [Fact]
    public async Task Bulk_accepting_every_pair_of_a_chain_never_joins_its_ends_and_reports_the_refusal()
    {
        using var host = Start();
        await host.Seed(A, B, C, D);
        var admin = host.AdminClient();
        (await admin.Run()).Int("queuedForReview").Should().Be(3);

        var response = await admin.PostAsync("/api/identity/review/accept?minScore=0.8", null);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var report = await response.Content.ReadFromJsonAsync<JsonElement>();
        report.Int("accepted").Should().Be(2);
        report.GetProperty("refused").EnumerateArray().Single().GetProperty("reason").GetString().Should().Contain("members disagree strongly");
        (await admin.ProfileId("anonymous_id:d")).Should().NotBe(await admin.ProfileId("anonymous_id:a"));
    }

    [Fact]
    public async Task An_automatic_run_does_not_chain_records_whose_ends_disagree_it_queues_the_closing_link_with_the_reason()
    {
        // AutoMerge 0.85 (weight 2.5): every link of the chain scores above it
        using var host = Start(new Dictionary<string, string?> { ["Cdp:Identity:Matching:Thresholds:AutoMerge"] = "0.85" });
        await host.Seed(A, B, C, D);
        var admin = host.AdminClient();

        var run = await admin.Run();

        run.Int("autoMerged").Should().Be(2, "B-C (the strongest) and then A-B; C-D would bring A and D together");
        run.Int("heldByMemberGuard").Should().Be(1);
        (await admin.ProfileId("anonymous_id:a")).Should().Be(await admin.ProfileId("anonymous_id:c"));
        (await admin.ProfileId("anonymous_id:d")).Should().NotBe(await admin.ProfileId("anonymous_id:a"));
        var item = (await admin.Review()).GetProperty("items").EnumerateArray().Single();
        item.GetProperty("reason").GetString().Should().Contain("members disagree strongly").And.Contain("'Anna' vs 'Zoe'");
    }

    [Fact]
    public async Task With_the_member_guard_off_an_automatic_run_chains_all_four_records_as_before()
    {
        using var host = Start(new Dictionary<string, string?>(GuardOff) { ["Cdp:Identity:Matching:Thresholds:AutoMerge"] = "0.85" });
        await host.Seed(A, B, C, D);
        var admin = host.AdminClient();

        var run = await admin.Run();

        run.Int("autoMerged").Should().Be(3);
        run.Int("heldByMemberGuard").Should().Be(0);
        (await admin.ProfileId("anonymous_id:d")).Should().Be(await admin.ProfileId("anonymous_id:a"));
    }
}
