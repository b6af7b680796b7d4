using Cdp.Tests.AdminUi;
using Cdp.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace Cdp.Tests.Collection;

/// <summary>
/// A website of its own for the browser SDK tests: a static Kestrel server on another loopback port than Cdp (so the
/// page is another origin and every SDK call is a cross-origin request) serving a test page and the real SDK files
/// from Cdp.Tests/Node (built by browser/build.mjs), and one headless Debian chromium driven by Playwright.
/// Without /usr/bin/chromium the tests skip locally and fail under CI, like the admin UI tests.
/// </summary>
public sealed class BrowserSdkFixture : IAsyncLifetime
{
    /// <summary>The page's path: the shipped dermatology segment counts page views under /dermatology.</summary>
    public const string PagePath = "/dermatology/acne";
    public const string PageTitle = "Acne treatment - Dermatology";
    public const string PageQuery = "?utm_source=newsletter&utm_medium=email&utm_campaign=spring";

    private readonly TempFolder _scripts = new();
    private WebApplication? _site;
    private IPlaywright? _playwright;

    public static string? MissingReason => AdminUiFixture.MissingReason;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The website's origin, e.g. http://127.0.0.1:40123 (no trailing slash).</summary>
    public string SiteAddress { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (MissingReason is { } reason)
        {
            if (Environment.GetEnvironmentVariable("CI") == "true") throw new InvalidOperationException(reason);
            return;
        }
        NodePackages.Require("@segment/analytics-next");
        NodePackages.Require("@rudderstack/analytics-js");
        NodePackages.Require("esbuild");
        var (code, stdout, stderr) = await NodePackages.RunAsync("browser/build.mjs", _scripts.Path);
        if (code != 0) throw new InvalidOperationException($"node browser/build.mjs failed ({code}): {stdout}{stderr}");

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _site = builder.Build();
        _site.MapGet("/sdk/{file}", (string file) => file is "analytics-next.js" or "rudderstack.js" or "rudderstack-npm.js"
            ? Results.File(Path.Combine(_scripts.Path, file), "text/javascript; charset=utf-8")
            : Results.NotFound());
        // analytics.js's UMD build self-hosted as /js/index.js, and the chunks it loads on demand (e.g. for ajs_ query
        // parameters) under {window.analytics._cdn}/analytics-next/bundles/, as the README shows
        _site.MapGet("/js/index.js", () => Results.File(Path.Combine(_scripts.Path, "umd", "index.js"), "text/javascript; charset=utf-8"));
        _site.MapGet("/js/analytics-next/bundles/{file}", (string file) => File.Exists(Path.Combine(_scripts.Path, "umd", Path.GetFileName(file)))
            ? Results.File(Path.Combine(_scripts.Path, "umd", Path.GetFileName(file)), "text/javascript; charset=utf-8")
            : Results.NotFound());
        _site.MapGet(PagePath, (string sdk) => sdk switch
        {
            "analytics-next" or "rudderstack" or "rudderstack-npm" => Results.Content(Page($"/sdk/{sdk}.js"), "text/html; charset=utf-8"),
            // without window.analytics._cdn set first, the UMD build loads its chunks from Segment's CDN
            "analytics-next-umd" => Results.Content(Page("/js/index.js", "window.analytics = { _cdn: '/js' };"), "text/html; charset=utf-8"),
            _ => Results.NotFound(),
        });
        _site.MapGet("/bye", () => Results.Content(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Bye</title><link rel=\"icon\" href=\"data:,\"></head><body><p>Another page</p></body></html>",
            "text/html; charset=utf-8"));
        await _site.StartAsync();
        SiteAddress = _site.Urls.Select(u => new Uri(u)).Single(u => u.Port != 0).GetLeftPart(UriPartial.Authority);

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = AdminUiFixture.ChromiumPath,
            Headless = true,
            Args =
            [
                // root in a container: chromium's sandbox needs user namespaces it may not get
                "--no-sandbox", "--disable-dev-shm-usage",
                // Nothing may leave the machine: every request to a non-loopback host goes to a proxy that does not
                // exist and fails (chromium never sends loopback through a proxy). The tests also record and fail on
                // any such request. Playwright's page.Route cannot do this job: with interception on, Playwright
                // answers CORS preflights itself (204, allow-all), which would hide the very CORS answers under test.
                "--proxy-server=http://127.0.0.1:9",
            ],
        });
    }

    private static string Page(string script, string? before = null) =>
        $$"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>{{PageTitle}}</title>
        <link rel="icon" href="data:,">
        {{(before is null ? "" : $"<script>{before}</script>")}}
        <script src="{{script}}"></script>
        </head>
        <body><h1>Acne treatment</h1><p>A test page of a clinic's website.</p></body>
        </html>
        """;

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
        if (_site is not null) await _site.DisposeAsync();
        _scripts.Dispose();
    }
}

/// <summary>
/// One browser tab on the test website with everything that must not happen collected: console errors, uncaught
/// exceptions, failed requests, answers of 400 and above, and any request to a host other than loopback.
/// </summary>
public sealed class SdkTab : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly List<string> _problems = [];
    private readonly List<string> _notes = [];

    private SdkTab(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Console += (_, m) =>
        {
            if (m.Type == "error") Add(_problems, "console error: " + m.Text);
            else if (m.Type == "warning") Add(_notes, "console warning: " + m.Text);
        };
        page.PageError += (_, e) => Add(_problems, "page error: " + e);
        context.Request += (_, r) =>
        {
            Add(_notes, $"{r.Method} {r.Url}");
            if (Uri.TryCreate(r.Url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" or "ws" or "wss" && !u.IsLoopback)
                Add(_problems, "request left loopback: " + r.Method + " " + r.Url);
        };
        context.RequestFailed += (_, r) => Add(_problems, $"request failed: {r.Method} {r.Url}: {r.Failure}");
        context.Response += (_, r) =>
        {
            Add(_notes, $"{r.Status} {r.Request.Method} {r.Url}");
            if (r.Status >= 400) Add(_problems, $"answer {r.Status} to {r.Request.Method} {r.Url}");
        };
    }

    public IPage Page { get; }

    public IReadOnlyList<string> Problems { get { lock (_problems) return _problems.ToList(); } }

    /// <summary>Every request, answer and console warning, for the failure message.</summary>
    public string Log { get { lock (_notes) return string.Join("\n  ", _notes); } }

    private static void Add(List<string> list, string line)
    {
        lock (list) list.Add(line);
    }

    public static async Task<SdkTab> OpenAsync(BrowserSdkFixture fx, string sdk, string extraQuery = "")
    {
        var context = await fx.Browser.NewContextAsync();
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        var tab = new SdkTab(context, page);
        await page.GotoAsync($"{fx.SiteAddress}{BrowserSdkFixture.PagePath}{BrowserSdkFixture.PageQuery}&sdk={sdk}{extraQuery}");
        return tab;
    }

    public async ValueTask DisposeAsync()
    {
        if (Problems.Count > 0) Console.Error.WriteLine($"browser problems ({Page.Url}):\n  " + string.Join("\n  ", Problems) + "\n log:\n  " + Log);
        await _context.DisposeAsync();
    }
}

/// <summary>
/// Every request Cdp received, as Cdp saw it (method, path and query, answer): the preflights and the requests a page
/// sends while it is being left (keepalive fetch, sendBeacon), which Playwright does not show.
/// </summary>
public sealed class CdpRequestLog : IStartupFilter
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Method, string PathAndQuery, int Status)> _seen = new();

    public IReadOnlyList<(string Method, string PathAndQuery, int Status)> Seen => _seen.ToList();

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (ctx, inner) =>
        {
            try { await inner(ctx); }
            finally { _seen.Enqueue((ctx.Request.Method, ctx.Request.Path + ctx.Request.QueryString, ctx.Response.StatusCode)); }
        });
        next(app);
    };
}
