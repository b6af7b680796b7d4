using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Cdp.Tests.Collection.TrackingPlans;
using Cdp.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Cdp.Tests.AdminUi;

/// <summary>
/// The tracking plans page on hosts of their own: one whose web source is checked against the clinic plan (README's
/// worked example) and sent calls that break it, and one without any plan.
/// </summary>
public sealed class TrackingPlansPageTests
{
    /// <summary>Patience of the auto-waiting assertions: a filter re-renders the page from two API calls, on a busy CI machine.</summary>
    private const float Patience = 15_000;

    private static Dictionary<string, string?> ClinicPlanOnWeb() => new()
    {
        ["Cdp:TrackingPlans:clinic:File"] = TrackingPlanCheckTests.ClinicPlanPath,
        ["Cdp:Sources:web:TrackingPlan"] = "clinic",
    };

    /// <summary>
    /// An unplanned event twice (its name in another case), one named like HTML, revenue as text with an unplanned coupon,
    /// a booking without its required clinic, an identify with an unplanned trait: 6 distinct violations, 7 in all.
    /// </summary>
    private const string Batch = """
        {"batch":[
          {"type":"track","messageId":"unplanned-1","userId":"u1","event":"appointment booked","properties":{"clinic":"North"}},
          {"type":"track","messageId":"unplanned-2","userId":"u1","event":"appointment booked","properties":{"clinic":"South"}},
          {"type":"track","messageId":"html-1","userId":"u1","event":"<b>Bold</b>"},
          {"type":"track","messageId":"bad-revenue","userId":"u2","event":"Order Completed","properties":{"revenue":"12.50 EUR","currency":"EUR","coupon":"WINTER"}},
          {"type":"track","messageId":"no-clinic","userId":"u2","event":"Appointment Booked","properties":{"service":"dental"}},
          {"type":"identify","messageId":"nick","userId":"u2","traits":{"email":"jane@example.com","nickname":"JJ"}}
        ]}
        """;

    private static ILocator Row(ILocator rows, string text) => rows.Filter(new() { HasTextRegex = new Regex(Regex.Escape(text)) });

    [SkippableFact]
    public async Task An_analyst_sees_each_violation_with_counts_and_masked_examples_the_plan_and_its_sources_and_narrows_them_by_kind_source_and_event()
    {
        Skip.If(AdminUiFixture.MissingReason is not null, AdminUiFixture.MissingReason);
        using var host = new CdpHost(ClinicPlanOnWeb());
        var sent = await host.TrackingClient().PostAsync("/v1/batch", new StringContent(Batch, Encoding.UTF8, "application/json"));
        sent.StatusCode.Should().Be(HttpStatusCode.OK, await sent.Content.ReadAsStringAsync());

        await using var browser = await AdminBrowser.LaunchAsync();
        await using var tab = await AdminTab.OpenAsync(browser.Value, host.ServerAddress);
        await tab.SignInAsync(CdpHost.AnalystKey);
        var page = tab.Page;
        await page.GetByRole(AriaRole.Link, new() { Name = "Tracking plans" }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Tracking plans", Level = 1 }).WaitForAsync();

        var rows = page.Locator("#violations tbody tr");
        await Expect(rows).ToHaveCountAsync(6, new() { Timeout = Patience });
        var unplanned = Row(rows, "appointment booked"); // case-sensitive: not the Appointment Booked row
        await Expect(unplanned).ToContainTextAsync("unplanned event");
        await Expect(unplanned.Locator("td[data-label=Count]")).ToHaveTextAsync("2");
        await Expect(unplanned.Locator("td[data-label=Source]")).ToHaveTextAsync("web");
        var revenue = Row(rows, "properties.revenue");
        await Expect(revenue).ToContainTextAsync("Order Completed");
        await Expect(revenue).ToContainTextAsync("invalid property");
        await Expect(revenue.Locator("td[data-label=Count]")).ToHaveTextAsync("1");
        await Expect(revenue.Locator(".example-value")).ToHaveTextAsync("99.99 XXX");
        await Expect(revenue.Locator(".example-message")).ToContainTextAsync("properties.revenue");
        await Expect(revenue).ToContainTextAsync("bad-revenue");
        await Expect(revenue).Not.ToContainTextAsync("12.50");
        await Expect(Row(rows, "properties.coupon")).ToContainTextAsync("unplanned property");
        await Expect(Row(rows, "properties.clinic")).ToContainTextAsync("missing property");
        await Expect(Row(rows, "traits.nickname")).ToContainTextAsync("identify");
        // data is text: the event named like HTML is shown as typed, no element made of it
        await Expect(Row(rows, "<b>Bold</b>").Locator("td[data-label=Event]")).ToHaveTextAsync("<b>Bold</b>");
        await Expect(page.Locator("#violations tbody b")).ToHaveCountAsync(0);

        var totals = page.Locator("#violation-totals");
        await Expect(totals.Locator(".figure", new() { HasText = "Violations" }).Locator("strong")).ToHaveTextAsync("7");
        await Expect(totals.Locator(".figure", new() { HasText = "unplanned event" }).Locator("strong")).ToHaveTextAsync("3");
        await Expect(page.Locator("svg.chart rect.fill-c").First).ToBeVisibleAsync();

        var clinic = page.Locator("#plan-clinic");
        await Expect(clinic.GetByRole(AriaRole.Heading, new() { Name = "clinic" })).ToBeVisibleAsync();
        var events = clinic.Locator("tbody tr td[data-label=Event]");
        await Expect(events).ToHaveTextAsync(["Appointment Booked", "Newsletter Opened", "Order Completed"]);
        await Expect(clinic.Locator("tbody tr", new() { HasText = "Order Completed" })).ToContainTextAsync("revenue required");
        await Expect(clinic.Locator("tbody tr", new() { HasText = "Newsletter Opened" })).ToContainTextAsync("any properties");
        await Expect(clinic.Locator(".plan-sources li")).ToHaveTextAsync(["web: violations Report · unplanned events Report"]);
        await tab.ScreenshotAsync("tracking-plans");

        await page.GetByLabel("Kind", new() { Exact = true }).SelectOptionAsync("invalid_property");
        await Expect(rows).ToHaveCountAsync(1, new() { Timeout = Patience });
        await Expect(rows).ToContainTextAsync("properties.revenue");
        await Expect(totals.Locator(".figure", new() { HasText = "Violations" }).Locator("strong")).ToHaveTextAsync("1");
        page.Url.Should().EndWith("#/tracking-plans?kind=invalid_property");

        await page.GetByLabel("Kind", new() { Exact = true }).SelectOptionAsync("unplanned_property");
        await Expect(rows).ToHaveCountAsync(2, new() { Timeout = Patience });
        await page.GetByLabel("Source", new() { Exact = true }).SelectOptionAsync("web");
        await Expect(page.GetByLabel("Source", new() { Exact = true })).ToHaveValueAsync("web", new() { Timeout = Patience });
        await Expect(rows).ToHaveCountAsync(2, new() { Timeout = Patience });

        await page.GetByRole(AriaRole.Link, new() { Name = "Clear filters" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(6, new() { Timeout = Patience });
        await Row(rows, "properties.coupon").GetByRole(AriaRole.Link, new() { Name = "Order Completed" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(2, new() { Timeout = Patience });
        await Expect(rows.Locator("td[data-label=Event]")).ToHaveTextAsync(["Order Completed", "Order Completed"]);
        await page.GetByRole(AriaRole.Link, new() { Name = "every event" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(6, new() { Timeout = Patience });
        await page.GetByRole(AriaRole.Link, new() { Name = "Last 30 days" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Last 30 days" })).ToHaveAttributeAsync("aria-current", "true", new() { Timeout = Patience });
        await Expect(rows).ToHaveCountAsync(6, new() { Timeout = Patience });
        tab.Problems.Should().BeEmpty();
    }

    [SkippableFact]
    public async Task Without_a_plan_the_page_says_no_source_has_one_and_that_there_are_no_violations()
    {
        Skip.If(AdminUiFixture.MissingReason is not null, AdminUiFixture.MissingReason);
        using var host = new CdpHost();
        await using var browser = await AdminBrowser.LaunchAsync();
        foreach (var width in new[] { AdminTab.Laptop, AdminTab.Phone })
        {
            await using var tab = await AdminTab.OpenAsync(browser.Value, host.ServerAddress, width);
            await tab.SignInAsync(CdpHost.AdminKey);
            await tab.GoAsync("tracking-plans");
            var page = tab.Page;
            await Expect(page.Locator("#no-plans")).ToContainTextAsync("No source has a tracking plan: see README, Tracking plans.", new() { Timeout = Patience });
            await Expect(page.Locator("#violations")).ToContainTextAsync("No violations in the last 24 hours.");
            await Expect(page.GetByText("No tracking plan is configured")).ToBeVisibleAsync();
            await Expect(page.Locator("#violations table")).ToHaveCountAsync(0);
            await tab.ScreenshotAsync("tracking-plans-empty");
            tab.Problems.Should().BeEmpty();
        }
    }
}
