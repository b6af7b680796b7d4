using Cdp.Tests.Support;
using Microsoft.Playwright;

namespace Cdp.Tests.AdminUi;

/// <summary>The admin UI in a real headless chromium against the real host on LiteDB, seeded through /v1.</summary>
public sealed class AdminUiBrowserTests(AdminUiFixture fx) : AdminUiBrowserScenarios(fx), IClassFixture<AdminUiFixture>;

/// <summary>The same admin UI scenarios with the host on PostgreSQL.</summary>
public sealed class AdminUiBrowserOnPostgresTests(PostgresAdminUiFixture fx) : AdminUiBrowserScenarios(fx), IClassFixture<PostgresAdminUiFixture>;

/// <summary>The admin UI in a real headless chromium against the real host, seeded through /v1: run on each provider.</summary>
public abstract class AdminUiBrowserScenarios(AdminUiFixture fx)
{
    private async Task<AdminTab> SignedIn(int width = AdminTab.Laptop, string key = CdpHost.AdminKey)
    {
        Skip.If(fx.Unavailable is not null, fx.Unavailable);
        var tab = await AdminTab.OpenAsync(fx.Browser, fx.Host.ServerAddress, width);
        await tab.SignInAsync(key);
        return tab;
    }

    private static ILocator Heading(IPage page, string name) => page.GetByRole(AriaRole.Heading, new() { Name = name, Level = 1 });

    [SkippableFact]
    public async Task Signing_in_with_an_admin_key_opens_the_overview_with_figures_chart_and_sync_status()
    {
        foreach (var width in new[] { AdminTab.Laptop, AdminTab.Phone })
        {
            await using var tab = await SignedIn(width);
            var page = tab.Page;
            await page.Locator(".figure", new() { HasText = "Events accepted" }).WaitForAsync();
            await page.Locator("svg.chart").WaitForAsync();
            (await page.Locator("svg.chart rect.fill-a").CountAsync()).Should().BeGreaterThan(0, "events were accepted in the last 24 hours");
            await page.Locator(".figure", new() { HasText = "Dead letters" }).Locator("strong", new() { HasText = "1" }).WaitForAsync();
            await page.GetByRole(AriaRole.Link, new() { Name = AdminUiFixture.Sync }).WaitForAsync();
            await page.GetByRole(AriaRole.Link, new() { Name = "Buyers", Exact = true }).WaitForAsync();
            (await page.EvaluateAsync<string>("sessionStorage.getItem('cdp.admin.key')")).Should().Be(CdpHost.AdminKey);
            await tab.ScreenshotAsync("overview");
            tab.Problems.Should().BeEmpty();
        }
    }

    [SkippableFact]
    public async Task A_wrong_key_is_refused_and_the_pages_stay_behind_the_sign_in()
    {
        Skip.If(fx.Unavailable is not null, fx.Unavailable);
        await using var tab = await AdminTab.OpenAsync(fx.Browser, fx.Host.ServerAddress);
        tab.ExpectFailedRequests = true; // the refused key's 401
        await tab.GoAsync("profiles");
        await Heading(tab.Page, "Sign in to Cdp").WaitForAsync();
        await tab.Page.GetByLabel("API key").FillAsync("not-a-key-of-this-cdp");
        await tab.Page.GetByLabel("API key").PressAsync("Enter");
        await tab.Page.GetByRole(AriaRole.Alert).GetByText("This key was not accepted.").WaitForAsync();
        await tab.ScreenshotAsync("signin-refused");
        await tab.Page.GetByLabel("API key").FillAsync(CdpHost.AdminKey);
        await tab.Page.GetByLabel("API key").PressAsync("Enter");
        await Heading(tab.Page, "Profiles").WaitForAsync(); // back where the user was going
        tab.Problems.Should().BeEmpty();
    }

    [SkippableFact]
    public async Task A_person_sent_through_v1_is_found_by_email_and_the_profile_shows_timeline_segments_and_merges()
    {
        foreach (var width in new[] { AdminTab.Laptop, AdminTab.Phone })
        {
            await using var tab = await SignedIn(width);
            var page = tab.Page;
            await tab.GoAsync("profiles");
            await Heading(page, "Profiles").WaitForAsync();
            await page.Locator("#profile-results table").WaitForAsync();
            await tab.ScreenshotAsync("profiles");

            await page.GetByLabel("Find a person").FillAsync("Jane Doe");
            await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
            await page.Locator("#profile-results").GetByRole(AriaRole.Link, new() { Name = "Jane Doe" }).WaitForAsync();
            // the first list also links Jane: wait for the search's answer to replace it (only Jane is called Jane or Doe)
            await Microsoft.Playwright.Assertions.Expect(page.Locator("#profile-results tbody tr")).ToHaveCountAsync(1);

            await page.GetByLabel("Find a person").FillAsync("JANE.DOE@example.com");
            await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
            await Heading(page, "Jane Doe").WaitForAsync();

            var identifiers = page.Locator("section", new() { Has = page.GetByRole(AriaRole.Heading, new() { Name = "Identifiers" }) });
            await identifiers.GetByText(AdminUiFixture.JaneEmail).WaitForAsync();
            await identifiers.GetByText("u-jane").WaitForAsync();
            var timeline = page.Locator("#timeline-list");
            await timeline.GetByText("Order Completed").First.WaitForAsync();
            await timeline.GetByText("Newsletter Opened").First.WaitForAsync();
            var segments = page.Locator("#profile-segments");
            await segments.GetByText("in because:").WaitForAsync();
            (await segments.Locator(".explanation").First.TextContentAsync()).Should().Contain("Order Completed");
            await page.Locator("#profile-merges").GetByText("Joined by rule").WaitForAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Unmerge…" }).WaitForAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Why are they one person?" }).ClickAsync();
            await page.Locator("#profile-merges .why li", new() { HasText = "anonymous_id:jane-laptop" }).WaitForAsync();

            await page.GetByLabel("Show").SelectOptionAsync("Newsletter Opened");
            await timeline.GetByText("Order Completed").WaitForAsync(new() { State = WaitForSelectorState.Detached });
            await timeline.GetByText("Newsletter Opened").First.WaitForAsync();
            await tab.ScreenshotAsync("profile");
            tab.Problems.Should().BeEmpty();
        }
    }

    [SkippableFact]
    public async Task An_invalid_segment_expression_shows_the_error_at_its_line_and_column_as_you_type()
    {
        await using var tab = await SignedIn();
        tab.ExpectFailedRequests = true; // the preview answers 400 for the invalid draft
        var page = tab.Page;
        await tab.GoAsync("segments/new");
        await Heading(page, "New segment").WaitForAsync();
        var where = page.GetByLabel("Condition");
        await where.FillAsync("performed \"Order Completed\"\n  at least two times");

        var error = page.Locator("#where-error");
        await error.WaitForAsync();
        (await error.GetAttributeAsync("data-line")).Should().Be("2");
        (await error.GetAttributeAsync("data-column")).Should().Be("12", "'two' starts at column 12 of line 2");
        (await error.TextContentAsync()).Should().Contain("Line 2, column 12").And.Contain("two");
        (await page.Locator(".editor-backdrop mark").TextContentAsync()).Should().Be("two", "the mark sits under the offending word");
        (await where.GetAttributeAsync("aria-invalid")).Should().Be("true");
        await tab.ScreenshotAsync("segment-error");

        await page.GetByRole(AriaRole.Button, new() { Name = "Go to the error" }).ClickAsync();
        (await where.EvaluateAsync<int>("t => t.selectionStart")).Should().Be("performed \"Order Completed\"\n  at least ".Length);
        tab.Problems.Should().BeEmpty();
    }

    [SkippableFact]
    public async Task A_valid_segment_expression_previews_its_count_sample_and_difference_with_the_live_segment()
    {
        await using var tab = await SignedIn();
        var page = tab.Page;
        await tab.GoAsync("segments/" + AdminUiFixture.Segment);
        await Heading(page, "Buyers").WaitForAsync();
        await page.Locator("#preview-count").WaitForAsync();
        (await page.Locator("#preview-count").TextContentAsync()).Should().Be("1");
        await page.Locator("#size-chart svg.chart").WaitForAsync();
        await page.Locator("#segment-history").GetByText("entered").First.WaitForAsync();

        await page.GetByLabel("Condition").FillAsync("performed any event at least 1 time");
        await page.Locator("#preview-count", new() { HasText = "3" }).WaitForAsync();
        (await page.Locator("#preview-added").TextContentAsync()).Should().Be("+2");
        (await page.Locator("#preview-removed").TextContentAsync()).Should().Be("−0");
        (await page.Locator("#preview-sample li").CountAsync()).Should().Be(3);
        (await page.Locator("#preview-sample li").AllTextContentsAsync()).Should().Contain(["Jane Doe", "Bob Stone", "Carol King"], "people are listed by name, not by profile id");
        await page.GetByText("✓ Valid condition").WaitForAsync();
        await tab.ScreenshotAsync("segment");
        tab.Problems.Should().BeEmpty();
    }

    [SkippableFact]
    public async Task A_dry_run_of_a_sync_shows_the_changes_and_the_first_payload_and_sends_nothing()
    {
        foreach (var width in new[] { AdminTab.Laptop, AdminTab.Phone })
        {
            await using var tab = await SignedIn(width);
            var page = tab.Page;
            await tab.GoAsync("syncs");
            await page.GetByRole(AriaRole.Link, new() { Name = AdminUiFixture.Sync }).ClickAsync();
            await Heading(page, AdminUiFixture.Sync).WaitForAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Dry run", Exact = true }).ClickAsync();
            var result = page.Locator("#run-result");
            await result.GetByText("Dry run: nothing was sent").WaitForAsync();
            await result.GetByRole(AriaRole.Cell, new() { Name = AdminUiFixture.JaneEmail }).WaitForAsync();
            (await page.Locator("#first-payload").TextContentAsync()).Should().Contain(AdminUiFixture.JaneEmail);
            await page.Locator("#runs").GetByText("dry run").First.WaitForAsync();
            await tab.ScreenshotAsync("sync-dry-run");
            tab.Problems.Should().BeEmpty();
        }
        Directory.GetFiles(fx.DropFolder).Should().BeEmpty("a dry run sends nothing");
    }

    [SkippableFact]
    public async Task An_analyst_sees_the_pages_but_no_destructive_buttons()
    {
        await using var tab = await SignedIn(key: CdpHost.AnalystKey);
        var page = tab.Page;
        (await page.Locator("#who-role").TextContentAsync()).Should().Be("Analyst");
        var jane = await fx.Host.AdminClient().ProfileId("email:" + AdminUiFixture.JaneEmail);
        await tab.GoAsync("profiles/" + jane);
        await Heading(page, "Jane Doe").WaitForAsync();
        await page.Locator("#profile-merges").GetByText("Joined by rule").WaitForAsync();
        await page.Locator("#timeline table").WaitForAsync();
        await tab.ScreenshotAsync("profile-analyst");
        (await page.GetByRole(AriaRole.Button, new() { Name = "Delete person…" }).CountAsync()).Should().Be(0);
        (await page.GetByRole(AriaRole.Button, new() { Name = "Unmerge…" }).CountAsync()).Should().Be(0);
        (await page.GetByRole(AriaRole.Button, new() { Name = "Export data" }).CountAsync()).Should().Be(0);

        await tab.GoAsync("syncs/" + AdminUiFixture.Sync);
        await Heading(page, AdminUiFixture.Sync).WaitForAsync();
        await page.Locator("#runs").WaitForAsync();
        (await page.Locator(".page-head button").CountAsync()).Should().Be(0, "no run, dry run or full resync for an analyst");

        await tab.GoAsync("segments");
        await Heading(page, "Segments").WaitForAsync();
        (await page.GetByRole(AriaRole.Link, new() { Name = "New segment" }).CountAsync()).Should().Be(0);
        await tab.GoAsync("segments/" + AdminUiFixture.Segment);
        await page.GetByText("Previews need an admin key").WaitForAsync();
        (await page.Locator("#save-segment, #delete-segment").CountAsync()).Should().Be(0);
        tab.Problems.Should().BeEmpty();
    }

    [SkippableFact]
    public async Task Dead_letters_list_the_rejected_event_with_its_reason()
    {
        await using var tab = await SignedIn(AdminTab.Phone);
        var page = tab.Page;
        await page.GetByRole(AriaRole.Button, new() { Name = "Menu" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Dead letters" }).ClickAsync();
        await Heading(page, "Dead letters").WaitForAsync();
        await page.Locator("#dead-letters").GetByText("userId or anonymousId is required").WaitForAsync();
        await tab.ScreenshotAsync("dead-letters");
        tab.Problems.Should().BeEmpty();
    }

    [SkippableFact]
    public async Task Sign_in_and_navigation_work_with_the_keyboard_alone()
    {
        Skip.If(fx.Unavailable is not null, fx.Unavailable);
        await using var tab = await AdminTab.OpenAsync(fx.Browser, fx.Host.ServerAddress);
        var page = tab.Page;
        await page.GotoAsync(tab.BaseUrl);
        await Heading(page, "Sign in to Cdp").WaitForAsync();
        (await page.EvaluateAsync<string>("document.activeElement.id")).Should().Be("api-key", "the key field has the focus");
        await page.Keyboard.TypeAsync(CdpHost.AdminKey);
        await page.Keyboard.PressAsync("Enter");
        await Heading(page, "Overview").WaitForAsync();
        await page.ReloadAsync(); // start tabbing from the top of the page, as a fresh visit does
        await Heading(page, "Overview").WaitForAsync();
        for (var i = 0; i < 12; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            if (await page.EvaluateAsync<string>("document.activeElement.textContent") == "Segments") break;
        }
        (await page.EvaluateAsync<string>("document.activeElement.textContent")).Should().Be("Segments", "the main navigation is reachable with Tab");
        await page.Keyboard.PressAsync("Enter");
        await Heading(page, "Segments").WaitForAsync();
        (await page.EvaluateAsync<string>("document.activeElement.tagName")).Should().Be("H1", "focus moves to the new page's heading");
        tab.Problems.Should().BeEmpty();
    }
}
