using System.Net;
using System.Net.Http.Json;
using Cdp.Tests.Support;
using Microsoft.Playwright;

namespace Cdp.Tests.AdminUi;

/// <summary>The Audit page against the real /api/audit, on a host of its own (the test counts the actions in its log).</summary>
public sealed class AuditPageTests
{
    [SkippableFact]
    public async Task The_audit_page_lists_admin_actions_newest_first_with_who_and_outcome_filters_by_actor_and_tells_an_analyst_it_is_admin_only()
    {
        Skip.If(AdminUiFixture.MissingReason is not null, AdminUiFixture.MissingReason);
        using var host = new CdpHost();
        await host.TrackingClient().SendBatch([
            """{"type":"identify","userId":"u-jane","traits":{"email":"jane.doe@example.com","name":"Jane Doe"},"timestamp":"2026-11-20T09:10:00Z"}""",
        ]);
        await host.Processed();
        var admin = host.AdminClient();
        var jane = await admin.ProfileId("email:jane.doe@example.com");
        // three audited actions, oldest first: a segment created by ops, a deletion refused to reader, a profile read by ops
        (await admin.PostAsJsonAsync("/api/segments", new { key = "vips", name = "VIPs", where = "performed \"Order Completed\" at least 1 time" }))
            .StatusCode.Should().Be(HttpStatusCode.Created);
        (await host.AdminClient(CdpHost.AnalystKey).DeleteAsync("/api/segments/vips")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await admin.GetAsync("/api/profiles/" + jane)).StatusCode.Should().Be(HttpStatusCode.OK);

        await using var browser = await AdminBrowser.LaunchAsync();
        await using (var tab = await AdminTab.OpenAsync(browser.Value, host.ServerAddress))
        {
            var page = tab.Page;
            await tab.SignInAsync(CdpHost.AdminKey);
            await tab.GoAsync("audit");
            var rows = page.Locator("#audit tbody tr");
            await rows.First.WaitForAsync();
            var texts = await rows.AllTextContentsAsync();
            var created = texts.ToList().FindIndex(t => t.Contains("POST") && t.Contains("/api/segments"));
            var refused = texts.ToList().FindIndex(t => t.Contains("DELETE"));
            var read = texts.ToList().FindIndex(t => t.Contains("/api/profiles/" + jane));
            created.Should().BeGreaterThanOrEqualTo(0, "the segment creation is listed");
            refused.Should().BeGreaterThanOrEqualTo(0, "the refused deletion is listed");
            read.Should().BeGreaterThanOrEqualTo(0, "the profile read is listed");
            read.Should().BeLessThan(refused, "newest first");
            refused.Should().BeLessThan(created, "newest first");

            await Expect(rows.Nth(created), who: "ops", role: "Admin", outcome: "201 ok", route: "/api/segments");
            await Expect(rows.Nth(refused), who: "reader", role: "Analyst", outcome: "403 denied", route: "/api/segments/{key}");
            (await rows.Nth(refused).GetAttributeAsync("class")).Should().Contain("audit-denied");
            (await rows.Nth(refused).Locator(".outcome").GetAttributeAsync("class")).Should().Contain("bad", "a denied attempt stands out");
            await Expect(rows.Nth(read), who: "ops", role: "Admin", outcome: "200 ok", route: "/api/profiles/{reference}");
            (await page.Locator("#audit tr.audit-denied").CountAsync()).Should().Be(1);
            (await page.Locator("#audit-summary").TextContentAsync()).Should().Contain("1 denied");
            await tab.ScreenshotAsync("audit");

            await page.GetByLabel("Hide successful reads").CheckAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
            await page.Locator("#audit-summary", new() { HasText = "successful reads hidden" }).WaitForAsync();
            (await rows.AllTextContentsAsync()).Should().HaveCount(2).And.Satisfy(t => t.Contains("POST"), t => t.Contains("DELETE"));

            await page.GetByLabel("Hide successful reads").UncheckAsync();
            await page.GetByLabel("Who").FillAsync("reader");
            await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
            await page.Locator("#audit-summary", new() { HasText = "by reader" }).WaitForAsync();
            page.Url.Should().Contain("actor=reader");
            (await rows.AllTextContentsAsync()).Should().ContainSingle().Which.Should().Contain("DELETE").And.Contain("403 denied");
            await tab.ScreenshotAsync("audit-reader");

            await page.GetByLabel("From").FillAsync("2099-01-02T00:00");
            await page.GetByLabel("To").FillAsync("2099-01-01T00:00");
            await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
            (await page.Locator("#audit-filter-error").TextContentAsync()).Should().Be("From must be before To.");
            await page.GetByLabel("To").FillAsync("2099-01-03T00:00");
            await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
            await page.GetByText("Nothing recorded for reader in this period.").WaitForAsync();
            page.Url.Should().Contain("from=2099-01-0").And.Contain("to=2099-01-0").And.Contain("actor=reader");
            (await page.GetByLabel("From").InputValueAsync()).Should().Be("2099-01-02T00:00", "the period survives the reload");

            await tab.GoAsync("audit?to=2020-01-01T00:00:00Z");
            await page.GetByText("Nothing recorded in this period.").WaitForAsync();
            (await rows.CountAsync()).Should().Be(0, "nothing happened before 2020");
            tab.Problems.Should().BeEmpty();
        }

        await using (var phone = await AdminTab.OpenAsync(browser.Value, host.ServerAddress, AdminTab.Phone))
        {
            await phone.SignInAsync(CdpHost.AdminKey);
            await phone.GoAsync("audit");
            await phone.Page.Locator("#audit tr.audit-denied").WaitForAsync();
            (await phone.Page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth")).Should().BeTrue("nothing sticks out sideways on a phone");
            await phone.ScreenshotAsync("audit");
            phone.Problems.Should().BeEmpty();
        }

        await using (var analyst = await AdminTab.OpenAsync(browser.Value, host.ServerAddress))
        {
            await analyst.SignInAsync(CdpHost.AnalystKey);
            await analyst.GoAsync("audit");
            await analyst.Page.GetByText("The audit log is for admins only.").WaitForAsync();
            (await analyst.Page.Locator("#audit-admin-only").TextContentAsync()).Should().Contain("reader (Analyst)");
            (await analyst.Page.Locator("table, .error-box").CountAsync()).Should().Be(0, "an analyst gets a plain answer, not an error or a table");
            await analyst.ScreenshotAsync("audit-analyst");

            // a page that still believes the key is an admin's (its role changed since sign-in) gets the server's 403: the same answer
            analyst.ExpectFailedRequests = true;
            await analyst.Page.EvaluateAsync("() => sessionStorage.setItem('cdp.admin.who', JSON.stringify({ name: 'reader', role: 'Admin' }))");
            var refusal = analyst.Page.WaitForResponseAsync(r => r.Url.Contains("/api/audit") && r.Status == 403);
            await analyst.Page.ReloadAsync();
            await refusal;
            await analyst.Page.GetByText("The audit log is for admins only.").WaitForAsync();
            (await analyst.Page.Locator("table, .error-box").CountAsync()).Should().Be(0);
            analyst.Problems.Should().BeEmpty();
        }
    }

    private static async Task Expect(ILocator row, string who, string role, string outcome, string route)
    {
        (await row.Locator("td[data-label=Who]").TextContentAsync()).Should().Be($"{who} {role}");
        (await row.Locator("td[data-label=Outcome]").TextContentAsync()).Should().Be(outcome);
        (await row.Locator("td[data-label=Action] code.route").TextContentAsync()).Should().Be(route);
    }
}
