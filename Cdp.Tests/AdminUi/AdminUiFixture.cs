using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Support;
using Microsoft.Playwright;

namespace Cdp.Tests.AdminUi;

/// <summary>
/// One real Cdp host seeded through /v1 (people, a merge, a dead letter, a config segment and a CSV sync) and one headless
/// Debian chromium driven by Playwright, shared by the browser tests. Playwright never downloads a browser: it is pointed
/// at /usr/bin/chromium (installed by .ci/run). Without it the tests skip locally and fail under CI.
/// </summary>
public class AdminUiFixture : IAsyncLifetime
{
    /// <summary>Cdp:Storage:Provider of the host.</summary>
    protected virtual string Provider => Cdp.Modules.Shared.Storage.StorageProviders.LiteDb;

    /// <summary>Why the tests skip: no chromium, or no PostgreSQL for the PostgreSQL fixture (outside CI).</summary>
    public string? Unavailable { get; private set; }

    public const string ChromiumPath = "/usr/bin/chromium";
    public const string Segment = "buyers";
    public const string Sync = "buyers-csv";
    public const string JaneEmail = "jane.doe@example.com";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly TempFolder _drop = new();
    private IPlaywright? _playwright;

    public static string? MissingReason =>
        File.Exists(ChromiumPath) ? null : $"{ChromiumPath} is missing: install Debian's chromium package (.ci/run does) to run the admin UI browser tests";

    public CdpHost Host { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public string DropFolder => _drop.Path;

    /// <summary>Screenshots of every page, for a person to look at: $CDP_SCREENSHOTS or bin/.../screenshots (not in git).</summary>
    public static string ScreenshotFolder { get; } = Environment.GetEnvironmentVariable("CDP_SCREENSHOTS") is { Length: > 0 } s
        ? s : Path.Combine(AppContext.BaseDirectory, "screenshots");

    public static Dictionary<string, string?> Settings(string dropFolder) => new()
    {
        [$"Cdp:Segments:{Segment}:Name"] = "Buyers",
        [$"Cdp:Segments:{Segment}:Where"] = "performed \"Order Completed\" at least 1 time",
        ["Cdp:Destinations:drop:Type"] = "CsvFile",
        ["Cdp:Destinations:drop:Folder"] = dropFolder,
        [$"Cdp:Syncs:{Sync}:Segment"] = Segment,
        [$"Cdp:Syncs:{Sync}:Destination"] = "drop",
        [$"Cdp:Syncs:{Sync}:Cron"] = "0 6 * * *",
        [$"Cdp:Syncs:{Sync}:FieldMappings:first_name"] = "traits.first_name",
    };

    public async Task InitializeAsync()
    {
        if (MissingReason is { } reason)
        {
            if (Environment.GetEnvironmentVariable("CI") == "true") throw new InvalidOperationException(reason);
            Unavailable = reason;
            return;
        }
        try
        {
            Host = await CdpHost.OnAsync(Provider, Settings(_drop.Path));
        }
        catch (SkipException skip)
        {
            Unavailable = skip.Message;
            return;
        }
        await Seed(Host);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // root in a container: chromium's sandbox needs user namespaces it may not get
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>Jane (two sessions joined by a later identify: one merge), Bob and Carol, one dead letter.</summary>
    public static async Task Seed(CdpHost host)
    {
        var t = host.TrackingClient();
        await t.SendBatch([
            """{"type":"page","anonymousId":"jane-laptop","name":"Dermatology","properties":{"path":"/dermatology/acne"},"timestamp":"2026-11-20T09:00:00Z"}""",
            """{"type":"identify","userId":"u-jane","traits":{"email":"jane.doe@example.com","name":"Jane Doe","first_name":"Jane","last_name":"Doe","phone":"+44 20 7946 0018","marketing_consent":true},"timestamp":"2026-11-20T09:10:00Z"}""",
            """{"type":"identify","userId":"u-bob","traits":{"email":"bob@example.com","name":"Bob Stone","first_name":"Bob","marketing_consent":false},"timestamp":"2026-11-21T10:00:00Z"}""",
            """{"type":"identify","userId":"u-carol","traits":{"email":"carol@example.com","name":"Carol King","first_name":"Carol","marketing_consent":true},"timestamp":"2026-11-21T11:00:00Z"}""",
        ]);
        await host.Processed();
        await t.SendBatch([
            """{"type":"track","userId":"u-jane","anonymousId":"jane-laptop","event":"Order Completed","properties":{"revenue":42.5,"currency":"EUR"},"timestamp":"2026-11-22T12:00:00Z"}""",
            """{"type":"track","userId":"u-jane","event":"Newsletter Opened","timestamp":"2026-11-23T08:00:00Z"}""",
            """{"type":"page","userId":"u-carol","name":"Pricing","timestamp":"2026-11-23T09:00:00Z"}""",
        ]);
        // no userId or anonymousId: a dead letter with its reason
        (await t.PostAsync("/v1/track", JsonContent.Create(new { @event = "Lost Event" }))).EnsureSuccessStatusCode();
        await host.Processed();
        var admin = host.AdminClient();
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var s = await admin.GetFromJsonAsync<JsonElement>($"/api/segments/{Segment}");
            if (s.GetProperty("health").GetString() == "ok" && s.GetProperty("members").GetInt64() >= 1) break;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"segment {Segment} not built: {s}");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
        Host?.Dispose();
        _drop.Dispose();
    }
}

/// <summary>The same seeded host on PostgreSQL (a fresh database of the test cluster), for the same browser tests.</summary>
public sealed class PostgresAdminUiFixture : AdminUiFixture
{
    protected override string Provider => Cdp.Modules.Shared.Storage.StorageProviders.PostgreSql;
}

/// <summary>A headless chromium of a test's own, for tests that need a host of their own (they change who is who).</summary>
public sealed class AdminBrowser(IPlaywright playwright, IBrowser browser) : IAsyncDisposable
{
    public IBrowser Value => browser;

    public static async Task<AdminBrowser> LaunchAsync()
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = AdminUiFixture.ChromiumPath, Headless = true, Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
        return new AdminBrowser(playwright, browser);
    }

    public async ValueTask DisposeAsync()
    {
        await browser.DisposeAsync();
        playwright.Dispose();
    }
}

/// <summary>One browser tab at a given width, with every console error and failed request collected.</summary>
public sealed class AdminTab : IAsyncDisposable
{
    public const int Laptop = 1280;
    public const int Phone = 390;

    private readonly IBrowserContext _context;

    private AdminTab(IBrowserContext context, IPage page, string baseUrl, int width)
    {
        _context = context;
        Page = page;
        BaseUrl = baseUrl;
        Width = width;
        page.Console += (_, m) =>
        {
            if (m.Type != "error") return;
            if (ExpectFailedRequests && m.Text.StartsWith("Failed to load resource", StringComparison.Ordinal)) return;
            Problems.Add("console: " + m.Text);
        };
        page.PageError += (_, e) => Problems.Add("page error: " + e);
    }

    public IPage Page { get; }

    public string BaseUrl { get; }

    public int Width { get; }

    /// <summary>The test provokes 4xx answers on purpose (chromium logs each as a console error): ignore those lines.</summary>
    public bool ExpectFailedRequests { get; set; }

    /// <summary>Console errors (including Content-Security-Policy violations) and uncaught exceptions.</summary>
    public List<string> Problems { get; } = [];

    public static async Task<AdminTab> OpenAsync(IBrowser browser, string serverAddress, int width = Laptop)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = width == Phone ? 844 : 900 },
            IsMobile = width == Phone,
            HasTouch = width == Phone,
            AcceptDownloads = true,
        });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        return new AdminTab(context, page, serverAddress.TrimEnd('/') + "/admin/", width);
    }

    public async Task SignInAsync(string key)
    {
        await Page.GotoAsync(BaseUrl);
        await Page.GetByLabel("API key").FillAsync(key);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Page.GetByRole(AriaRole.Heading, new() { Name = "Overview", Level = 1 }).WaitForAsync();
    }

    public async Task GoAsync(string route)
    {
        await Page.GotoAsync(BaseUrl + "#/" + route);
    }

    public async Task ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(AdminUiFixture.ScreenshotFolder);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AdminUiFixture.ScreenshotFolder, $"{name}-{Width}.png"), FullPage = true });
    }

    public async ValueTask DisposeAsync()
    {
        if (Problems.Count > 0)
        {
            // a failing test leaves what the page said and looked like
            Console.Error.WriteLine($"browser problems ({Page.Url}):\n  " + string.Join("\n  ", Problems));
            await ScreenshotAsync("problem-" + DateTime.UtcNow.ToString("HHmmssfff", System.Globalization.CultureInfo.InvariantCulture));
        }
        await _context.DisposeAsync();
    }
}
