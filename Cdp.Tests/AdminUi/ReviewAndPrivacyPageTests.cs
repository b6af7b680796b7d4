using System.Collections.Concurrent;
using System.Text.Json;
using Cdp.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Cdp.Tests.AdminUi;

/// <summary>
/// The review queue and privacy pages against the API shapes agreed with issues 7 and 8, served by a stand-in in front of
/// the real host until those endpoints land (the stand-in answers only their paths, and checks the admin key).
/// </summary>
public sealed class ReviewAndPrivacyPageTests
{
    private sealed class StandIn : IStartupFilter
    {
        public ConcurrentQueue<string> Calls { get; } = new();

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (ctx, nextMiddleware) =>
            {
                var path = ctx.Request.Path.Value ?? "";
                if (!path.StartsWith("/api/identity/review", StringComparison.Ordinal) && !path.StartsWith("/api/privacy/", StringComparison.Ordinal))
                {
                    await nextMiddleware();
                    return;
                }
                if (ctx.Request.Headers.Authorization != "Bearer " + CdpHost.AdminKey)
                {
                    ctx.Response.StatusCode = 401;
                    return;
                }
                Calls.Enqueue($"{ctx.Request.Method} {path}{ctx.Request.QueryString}");
                object? body = (ctx.Request.Method, path) switch
                {
                    ("GET", "/api/identity/review") => Queue,
                    ("POST", "/api/identity/review/rv_1/accept") => new { mergeId = "m_77", winnerProfileId = "p_1" },
                    ("GET", "/api/privacy/profiles/p_1/export") => new { profileId = "p_1", traits = new { email = "jane.doe@example.com" } },
                    ("DELETE", "/api/privacy/profiles/p_1") => new { receiptId = "rcpt_9", profileId = "p_1", erased = new { profiles = 1, events = 5, identifiers = 3 } },
                    _ => null,
                };
                if (body is null)
                {
                    ctx.Response.StatusCode = 404;
                    return;
                }
                await ctx.Response.WriteAsJsonAsync(body);
            });
            next(app);
        };
    }

    private static readonly object Queue = new
    {
        total = 1,
        items = new[]
        {
            new
            {
                id = "rv_1", status = "pending", score = 0.87, matchWeight = 6.4, createdAt = "2026-11-27T10:00:00Z", reason = "between Review and AutoMerge",
                left = new { profileId = "p_1", traits = new { first_name = "Jon", last_name = "Smith", city = "Leeds" }, identifiers = new[] { new { type = "email", value = "jon@example.com" } } },
                right = new { profileId = "p_2", traits = new { first_name = "John", last_name = "Smyth", city = "Leeds" }, identifiers = new[] { new { type = "phone", value = "+447700900123" } } },
                comparisons = new[]
                {
                    new { name = "first_name", level = "jaro-winkler >= 0.9", weight = 3.1, left = "Jon", right = "John" },
                    new { name = "last_name", level = "jaro-winkler >= 0.8", weight = 2.2, left = "Smith", right = "Smyth" },
                    new { name = "email", level = "null", weight = 0.0, left = "jon@example.com", right = (string?)null ?? "" },
                },
            },
        },
    };

    [SkippableFact]
    public async Task The_review_queue_shows_both_profiles_and_the_score_breakdown_and_accept_merges_the_pair()
    {
        Skip.If(AdminUiFixture.MissingReason is not null, AdminUiFixture.MissingReason);
        var standIn = new StandIn();
        using var host = new CdpHost(services: s => s.AddSingleton<IStartupFilter>(standIn));
        await using var browser = await Browser();
        foreach (var width in new[] { AdminTab.Laptop, AdminTab.Phone })
        {
            await using var tab = await AdminTab.OpenAsync(browser.Value, host.ServerAddress, width);
            await tab.SignInAsync(CdpHost.AdminKey);
            await tab.GoAsync("review");
            var pair = tab.Page.Locator("article.pair").First;
            await pair.GetByText("87%").WaitForAsync();
            await pair.Locator(".side").Nth(0).GetByText("Jon", new() { Exact = true }).WaitForAsync();
            await pair.Locator(".side").Nth(1).GetByText("Smyth", new() { Exact = true }).WaitForAsync();
            await pair.GetByRole(AriaRole.Cell, new() { Name = "+3.10" }).WaitForAsync();
            await tab.ScreenshotAsync("review");
            if (width == AdminTab.Phone) continue;
            await pair.GetByRole(AriaRole.Button, new() { Name = "Accept: same person" }).ClickAsync();
            await pair.GetByText("Merged into").WaitForAsync();
            (await pair.GetByRole(AriaRole.Button, new() { Name = "Accept: same person" }).CountAsync()).Should().Be(0);
            tab.Problems.Should().BeEmpty();
        }
        standIn.Calls.Should().Contain("GET /api/identity/review?status=pending&skip=0&take=10").And.Contain("POST /api/identity/review/rv_1/accept");
    }

    [SkippableFact]
    public async Task An_admin_exports_a_person_as_a_download_and_deletes_them_after_typing_the_profile_id()
    {
        Skip.If(AdminUiFixture.MissingReason is not null, AdminUiFixture.MissingReason);
        var standIn = new StandIn();
        using var host = new CdpHost(services: s => s.AddSingleton<IStartupFilter>(standIn));
        await host.TrackingClient().Send("identify", """{"userId":"u-jane","traits":{"email":"jane.doe@example.com","name":"Jane Doe"}}""");
        await host.Processed();
        await using var browser = await Browser();
        await using var tab = await AdminTab.OpenAsync(browser.Value, host.ServerAddress);
        await tab.SignInAsync(CdpHost.AdminKey);
        await tab.GoAsync("profiles/p_1");
        var page = tab.Page;
        await page.GetByRole(AriaRole.Heading, new() { Name = "Jane Doe" }).WaitForAsync();

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Export data" }).ClickAsync());
        download.SuggestedFilename.Should().Be("cdp-export-p_1.json");
        var saved = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".json");
        await download.SaveAsAsync(saved);
        JsonDocument.Parse(await File.ReadAllTextAsync(saved)).RootElement.GetProperty("profileId").GetString().Should().Be("p_1");
        File.Delete(saved);

        await page.GetByRole(AriaRole.Button, new() { Name = "Delete person…" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        var confirm = dialog.GetByRole(AriaRole.Button, new() { Name = "Delete for good" });
        (await confirm.IsDisabledAsync()).Should().BeTrue("the profile id must be typed first");
        await dialog.GetByLabel("Type p_1 to confirm").FillAsync("p_1");
        await tab.ScreenshotAsync("delete-confirm");
        await confirm.ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Person deleted" }).WaitForAsync();
        await page.GetByText("rcpt_9").WaitForAsync();
        standIn.Calls.Should().Contain("DELETE /api/privacy/profiles/p_1");
        tab.Problems.Should().BeEmpty();
    }

    [SkippableFact]
    public async Task Pages_whose_endpoints_are_missing_say_they_are_not_available_in_this_version()
    {
        Skip.If(AdminUiFixture.MissingReason is not null, AdminUiFixture.MissingReason);
        using var host = new CdpHost();
        await host.TrackingClient().Send("identify", """{"userId":"u-jane","traits":{"email":"jane.doe@example.com","name":"Jane Doe"}}""");
        await host.Processed();
        await using var browser = await Browser();
        await using var tab = await AdminTab.OpenAsync(browser.Value, host.ServerAddress);
        tab.ExpectFailedRequests = true; // the missing endpoints' 404s
        await tab.SignInAsync(CdpHost.AdminKey);
        var page = tab.Page;
        var reviewMissing = (await host.AdminClient().GetAsync("/api/identity/review")).StatusCode == System.Net.HttpStatusCode.NotFound;
        if (reviewMissing)
        {
            await tab.GoAsync("review");
            await page.GetByText("The review queue is not available in this version of Cdp.").WaitForAsync();
        }
        var auditMissing = (await host.AdminClient().GetAsync("/api/audit")).StatusCode == System.Net.HttpStatusCode.NotFound;
        if (auditMissing)
        {
            await tab.GoAsync("audit");
            await page.GetByText("The audit log is not available in this version of Cdp.").WaitForAsync();
        }
        var exportMissing = (await host.AdminClient().GetAsync("/api/privacy/profiles/p_1/export")).StatusCode == System.Net.HttpStatusCode.NotFound;
        Skip.IfNot(reviewMissing || auditMissing || exportMissing, "every endpoint the pages use exists in this version");
        if (exportMissing)
        {
            await tab.GoAsync("profiles/p_1");
            await page.GetByRole(AriaRole.Button, new() { Name = "Export data" }).ClickAsync();
            await page.GetByText("Export is not available in this version of Cdp.").WaitForAsync();
        }
        tab.Problems.Should().BeEmpty();
    }

    internal static async Task<BrowserLease> Browser()
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = AdminUiFixture.ChromiumPath, Headless = true, Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
        return new BrowserLease(playwright, browser);
    }

    internal sealed class BrowserLease(IPlaywright playwright, IBrowser browser) : IAsyncDisposable
    {
        public IBrowser Value => browser;

        public async ValueTask DisposeAsync()
        {
            await browser.DisposeAsync();
            playwright.Dispose();
        }
    }
}
