using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Matching.ProfileMatching;
using Cdp.Tests.Support;
using Microsoft.Playwright;
using static Cdp.Tests.Matching.ProfileMatching.MatchingHost;

namespace Cdp.Tests.AdminUi;

/// <summary>
/// The review queue page against the real matching API, on a host of its own (it merges people). The matching model is
/// set by hand (MatchingHost) so the scores are known: Mary twice and Sue twice weigh 5 (97%), Jon/John Baker 3 (89%),
/// all between Review and AutoMerge, so one run queues exactly those three pairs.
/// </summary>
public sealed class ReviewQueuePageTests
{
    private static readonly string Jon = Identify("jon-b", """{"firstName":"Jon","lastName":"Baker","birthday":"1975-02-03"}""");
    private static readonly string John = Identify("john-b", """{"firstName":"John","lastName":"Baker","birthday":"1975-02-03"}""");
    private static readonly string Sue1 = Identify("sue1", """{"firstName":"Sue","lastName":"Brown","birthday":"1982-07-08"}""");
    private static readonly string Sue2 = Identify("sue2", """{"firstName":"Sue","lastName":"Brown","birthday":"1982-07-08","email":"sue@x.example"}""");

    [SkippableFact]
    public async Task A_matching_run_queues_pairs_side_by_side_accept_merges_reject_keeps_apart_a_refusal_says_why_and_analysts_only_look()
    {
        Skip.If(AdminUiFixture.MissingReason is not null, AdminUiFixture.MissingReason);
        using var host = MatchingHost.Start();
        await host.Seed(Mary1, Mary2, Jon, John, Sue1, Sue2);
        var admin = host.AdminClient();
        await using var browser = await AdminBrowser.LaunchAsync();
        await using var tab = await AdminTab.OpenAsync(browser.Value, host.ServerAddress);
        await tab.SignInAsync(CdpHost.AdminKey);
        await tab.GoAsync("review");
        var page = tab.Page;
        await page.GetByText("Nothing to review").WaitForAsync();
        await page.Locator("#matching-runs").GetByText("No matching runs yet.").WaitForAsync();

        await page.GetByRole(AriaRole.Button, new() { Name = "Run matching now" }).ClickAsync();
        await page.Locator("#run-result").GetByText("3 queued for review, 0 merged automatically").WaitForAsync();
        await page.GetByText("3 pending pairs.").WaitForAsync();
        (await page.Locator("article.pair").CountAsync()).Should().Be(3);
        var runs = await admin.GetFromJsonAsync<JsonElement>("/api/identity/matching/runs");
        var run = runs.GetProperty("runs").EnumerateArray().Single();
        run.Int("queuedForReview").Should().Be(3);
        run.GetProperty("trigger").GetString().Should().Be("api");
        var runRow = page.Locator("#matching-runs tbody tr");
        (await runRow.CountAsync()).Should().Be(1);
        (await runRow.Locator("td[data-label=Queued]").TextContentAsync()).Should().Be("3");
        // nobody here has a phone or an address: the run warns about those fields, in its result and in the list of runs
        await page.Locator("#run-result li.warn").GetByText("no profile has the field 'phone'").WaitForAsync();
        await runRow.Locator("td[data-label=Note] li.warn").GetByText("no profile has the field 'address.street'").WaitForAsync();

        var mary = Pair(page, "Mary");
        var jon = Pair(page, "Jon");
        var sue = Pair(page, "Sue");
        await mary.GetByText("97%").WaitForAsync();
        await jon.GetByText("89%").WaitForAsync();
        // one side each (the queue keeps the pair in its own order)
        (await jon.Locator(".side", new() { Has = page.GetByText("Jon", new() { Exact = true }) }).CountAsync()).Should().Be(1);
        (await jon.Locator(".side", new() { Has = page.GetByText("John", new() { Exact = true }) }).CountAsync()).Should().Be(1);
        var firstName = Comparison(jon, "firstName");
        (await firstName.Locator("td[data-label=Level]").TextContentAsync()).Should().Be("similar (Jaro-Winkler ≥ 0.92)");
        (await firstName.Locator("td[data-label=Level] span[title]").GetAttributeAsync("title")).Should().Be("JaroWinkler>=0.92");
        (await firstName.Locator("td[data-label=Weight]").TextContentAsync()).Should().Be("+3.00");
        (await Comparison(jon, "lastName").Locator("td[data-label=Level]").TextContentAsync()).Should().Be("same");
        (await Comparison(mary, "email").Locator("td[data-label=Level]").TextContentAsync()).Should().Be("missing on one side", "only Mary 2 has an email");
        (await Comparison(jon, "email").CountAsync()).Should().Be(0, "neither Baker has an email");
        (await jon.Locator(".not-compared").TextContentAsync()).Should().Contain("email, phone");
        await tab.ScreenshotAsync("review");

        var maryId = await mary.GetAttributeAsync("data-id");
        await mary.GetByRole(AriaRole.Button, new() { Name = "Accept: same person" }).ClickAsync();
        await mary.GetByText("Merged into").WaitForAsync();
        (await mary.GetByRole(AriaRole.Button, new() { Name = "Accept: same person" }).CountAsync()).Should().Be(0);
        var mary1 = await admin.ProfileId("anonymous_id:mary1");
        (await admin.ProfileId("anonymous_id:mary2")).Should().Be(mary1, "accepting merged the pair");
        var accepted = await admin.GetFromJsonAsync<JsonElement>($"/api/identity/review/{maryId}");
        accepted.GetProperty("status").GetString().Should().Be("accepted");
        var mergeId = accepted.GetProperty("mergeId").GetString();
        (await mary.Locator("code", new() { HasText = mergeId! }).CountAsync()).Should().Be(1, "the page names the merge");
        var merge = await admin.GetFromJsonAsync<JsonElement>($"/api/identity/merges/{mergeId}");
        merge.GetProperty("rule").GetString().Should().Be("probabilistic");
        merge.GetProperty("decidedBy").GetString().Should().Be("review");

        var jonId = await jon.GetAttributeAsync("data-id");
        await jon.GetByRole(AriaRole.Button, new() { Name = "Reject: different people" }).ClickAsync();
        await jon.GetByText("Rejected: they stay two people.").WaitForAsync();
        await jon.Locator(".badge", new() { HasText = "rejected" }).WaitForAsync();
        (await admin.GetFromJsonAsync<JsonElement>($"/api/identity/review/{jonId}")).GetProperty("status").GetString().Should().Be("rejected");
        (await admin.ProfileId("anonymous_id:jon-b")).Should().NotBe(await admin.ProfileId("anonymous_id:john-b"));

        // Sue's two profiles become one through an event while the page is open: accepting is refused (409) and the page says why
        await host.Seed("""{"type":"identify","anonymousId":"sue1","traits":{"email":"sue@x.example"}}""");
        tab.ExpectFailedRequests = true; // the 409
        await sue.GetByRole(AriaRole.Button, new() { Name = "Accept: same person" }).ClickAsync();
        var refusal = sue.GetByRole(AriaRole.Alert);
        await refusal.GetByText("Cdp did not merge this pair").WaitForAsync();
        (await refusal.TextContentAsync()).Should().Contain("already one");
        (await sue.GetByRole(AriaRole.Button, new() { Name = "Accept: same person" }).CountAsync()).Should().Be(0);
        await tab.ScreenshotAsync("review-refused");
        await refusal.GetByRole(AriaRole.Button, new() { Name = "Reload the queue" }).ClickAsync();
        await page.GetByText("Nothing to review: every likely match has been decided.").WaitForAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "merged-elsewhere", Exact = true }).ClickAsync();
        await page.GetByText("1 merged-elsewhere pair.").WaitForAsync();
        await Pair(page, "Sue").GetByText("Both sides are one profile now.").WaitForAsync();
        await Pair(page, "Sue").Locator(".outcome").GetByText("both profiles are now p_", new() { Exact = false }).WaitForAsync();

        await page.GetByRole(AriaRole.Link, new() { Name = "accepted", Exact = true }).ClickAsync();
        await page.GetByText("1 accepted pair.").WaitForAsync();
        await Pair(page, "Mary").Locator(".outcome").GetByText("Accepted").WaitForAsync();
        (await page.GetByRole(AriaRole.Button, new() { Name = "Accept: same person" }).CountAsync()).Should().Be(0, "decided pairs have no actions");
        tab.Problems.Should().BeEmpty();

        // an analyst (here on a phone) sees the queue and the runs, but no run or decision buttons
        await using var phone = await AdminTab.OpenAsync(browser.Value, host.ServerAddress, AdminTab.Phone);
        await phone.SignInAsync(CdpHost.AnalystKey);
        await phone.GoAsync("review?status=rejected");
        await Pair(phone.Page, "Jon").Locator(".outcome").GetByText("Rejected").WaitForAsync();
        await phone.Page.Locator("#matching-runs tbody tr").WaitForAsync();
        await phone.ScreenshotAsync("review");
        await phone.GoAsync("review?status=merged-elsewhere");
        await Pair(phone.Page, "Sue").GetByText("97%").WaitForAsync();
        (await phone.Page.GetByRole(AriaRole.Button, new() { Name = "Run matching now" }).CountAsync()).Should().Be(0);
        (await phone.Page.Locator("article.pair button").CountAsync()).Should().Be(0);
        phone.Problems.Should().BeEmpty();
    }

    /// <summary>The pair card with a side whose trait is exactly firstName (HasText alone is a substring: "Jon" is in "Jones").</summary>
    private static ILocator Pair(IPage page, string firstName) =>
        page.Locator("article.pair", new() { Has = page.Locator(".side dd").GetByText(firstName, new() { Exact = true }) });

    private static ILocator Comparison(ILocator pair, string name) =>
        pair.Locator("tbody tr", new() { Has = pair.Page.Locator("td[data-label=Comparison]").GetByText(name, new() { Exact = true }) });
}
