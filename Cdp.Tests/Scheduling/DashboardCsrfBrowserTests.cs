using System.Net;
using Cdp.Tests.AdminUi;
using Cdp.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;

namespace Cdp.Tests.Scheduling;

/// <summary>
/// The attack of issue 24 in a real browser (Debian's chromium through Playwright): an admin signed in to the jobs
/// dashboard opens a page served from another port of the same host, which auto-posts a form to /jobs/recurring/remove.
/// The browser sends the admin's SameSite=Strict cookie (same site), but not the page's anti-forgery token: refused.
/// </summary>
public sealed class DashboardCsrfBrowserTests
{
    private const string Job = "litedb-checkpoint";

    private static async Task<bool> RecurringJobExists(CdpHost host) =>
        (await host.AdminClient().GetStringAsync("/api/scheduling/recurring")).Contains($"\"id\":\"{Job}\"", StringComparison.Ordinal);

    /// <summary>The attacker's site: another Kestrel on another loopback port, one page that posts a form at once.</summary>
    private static async Task<WebApplication> AttackerSite(string target)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/", () => Results.Content(
            $"""
            <!doctype html><html><body><p>Cute cats</p>
            <form id="f" method="post" action="{target}jobs/recurring/remove"><input type="hidden" name="jobs[]" value="{Job}"></form>
            <script>document.getElementById('f').submit()</script></body></html>
            """, "text/html"));
        await app.StartAsync();
        return app;
    }

    [SkippableFact]
    public async Task A_cross_site_auto_posting_form_cannot_remove_a_recurring_job_while_the_dashboards_own_button_can()
    {
        Skip.If(AdminUiFixture.MissingReason is not null, AdminUiFixture.MissingReason);
        using var host = new CdpHost();
        var cdp = host.ServerAddress; // http://127.0.0.1:<port>/
        await Eventually.Until(() => RecurringJobExists(host).GetAwaiter().GetResult(), "the recurring job to be reconciled");
        await using var attacker = await AttackerSite(cdp);
        var attackerUrl = attacker.Urls.Single();
        new Uri(attackerUrl).Port.Should().NotBe(new Uri(cdp).Port);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = AdminUiFixture.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
        var context = await browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var cspViolations = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)) cspViolations.Add(message.Text);
        };

        // the admin signs in through the form, as a person does
        await page.GotoAsync(cdp + "jobs/sign-in");
        await page.FillAsync("input[name=key]", CdpHost.AdminKey);
        await page.ClickAsync("input[type=submit]");
        await page.WaitForURLAsync(cdp + "jobs/");
        await page.GotoAsync(cdp + "jobs/recurring");
        (await page.ContentAsync()).Should().Contain(Job);
        cspViolations.Should().BeEmpty("the dashboard works under its Content-Security-Policy");

        // the admin visits the attacker's page, which posts the form to Cdp at once
        var forged = await page.RunAndWaitForResponseAsync(() => page.GotoAsync(attackerUrl),
            r => r.Url.EndsWith("/jobs/recurring/remove", StringComparison.Ordinal));
        (await forged.Request.AllHeadersAsync()).GetValueOrDefault("cookie").Should().Contain("cdp_jobs_session=",
            "the browser sent the admin's session cookie along (same site): only the missing token stops the post");
        forged.Status.Should().Be((int)HttpStatusCode.Forbidden);
        (await RecurringJobExists(host)).Should().BeTrue("the forged post removed nothing");

        // the dashboard's own page holds the token and may post (what its Delete button does)
        await page.GotoAsync(cdp + "jobs/recurring");
        var status = await page.EvaluateAsync<int>(
            """
            async (job) => {
              const header = document.querySelector('meta[name=csrf-header]').content;
              const token = document.querySelector('meta[name=csrf-token]').content;
              const r = await fetch('recurring/remove', { method: 'POST', headers: { [header]: token, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'jobs[]=' + job });
              return r.status;
            }
            """, Job);
        status.Should().Be((int)HttpStatusCode.NoContent);
        (await RecurringJobExists(host)).Should().BeFalse();
        cspViolations.Should().BeEmpty();
    }
}
