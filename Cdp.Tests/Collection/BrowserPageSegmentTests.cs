using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Tests.Segments;
using Cdp.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Collection;

/// <summary>
/// A website's page views, shaped exactly as analytics.js 1.84.3 posts them to /v1/p, reach the shipped example segment
/// (dermatology-no-booking), with their page context stored; an event dated in the year 9999 does not hold a person in a
/// "within 30d" segment for ever.
/// </summary>
public sealed class BrowserPageSegmentTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 31, 12, 0, 0, TimeSpan.Zero);
    private const string Seed = "dermatology-no-booking";

    /// <summary>
    /// analytics.js's page call: core/page/add-page-context.js puts path/referrer/search/title/url in properties and in
    /// context.page; plugins/env-enrichment adds userAgent, userAgentData, locale, library, campaign (utm_*), timezone;
    /// plugins/segmentio/normalize.js adds writeKey, sentAt and _metadata. Posted as text/plain with HTTP Basic.
    /// </summary>
    private static string AnalyticsJsPage(string anonymousId, string path, DateTimeOffset at, DateTimeOffset sentAt) => $$$"""
        {"type":"page","name":"Acne treatment","properties":{"path":"{{{path}}}","referrer":"https://www.google.com/","search":"?utm_source=newsletter&utm_medium=email&utm_campaign=spring","title":"Acne treatment | Clinic","url":"https://clinic.example{{{path}}}?utm_source=newsletter&utm_medium=email&utm_campaign=spring","name":"Acne treatment"},
         "context":{"page":{"path":"{{{path}}}","referrer":"https://www.google.com/","search":"?utm_source=newsletter&utm_medium=email&utm_campaign=spring","title":"Acne treatment | Clinic","url":"https://clinic.example{{{path}}}?utm_source=newsletter&utm_medium=email&utm_campaign=spring"},
           "userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
           "userAgentData":{"brands":[{"brand":"Chromium","version":"131"}],"mobile":false,"platform":"Linux"},
           "locale":"en-GB","library":{"name":"analytics.js","version":"npm:next-1.84.3"},
           "campaign":{"source":"newsletter","medium":"email","name":"spring"},"timezone":"Europe/London"},
         "anonymousId":"{{{anonymousId}}}","userId":null,"integrations":{},"messageId":"ajs-next-{{{Guid.NewGuid():N}}}",
         "timestamp":"{{{at.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fff}}}Z","writeKey":"{{{CdpHost.WriteKey}}}","sentAt":"{{{sentAt.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fff}}}Z",
         "_metadata":{"bundled":["Segment.io"],"unbundled":[],"bundledIds":[]}}
        """;

    private static async Task SendPage(CdpHost host, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/p") { Content = new StringContent(body, Encoding.UTF8, "text/plain") };
        request.Headers.Add("Origin", "https://clinic.example");
        request.Headers.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(CdpHost.WriteKey + ":")));
        var response = await host.CreateClient().SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private static CdpHost Host(ManualClock clock) => new(
        new Dictionary<string, string?> { ["Cdp:SegmentEvaluation:SweepSchedule"] = "" },
        services: s => s.AddSingleton<TimeProvider>(clock));

    [Fact]
    public async Task Two_analytics_js_page_views_of_dermatology_pages_put_the_visitor_in_the_shipped_example_segment()
    {
        var clock = new ManualClock(Now);
        using var host = Host(clock);
        await Ready(host);
        // the first view waited two days in the SDK's offline queue: sent now, it keeps its own time
        await SendPage(host, AnalyticsJsPage("ajs-visitor", "/dermatology/acne", Now.AddDays(-2), Now));
        await SendPage(host, AnalyticsJsPage("ajs-visitor", "/dermatology/eczema", Now.AddMinutes(-5), Now.AddMinutes(-5)));
        await SendPage(host, AnalyticsJsPage("ajs-other", "/dermatology/acne", Now.AddMinutes(-5), Now.AddMinutes(-5)));
        await host.Processed();

        var admin = host.AdminClient();
        var visitor = await admin.ProfileId("anonymous_id:ajs-visitor");
        (await Members(admin)).Should().Equal(visitor);

        var stored = host.Service<IEventLog>().ReadAfter(0, 100).Select(e => JsonDocument.Parse(e.Json).RootElement.Clone()).First();
        var context = stored.GetProperty("context");
        context.GetProperty("page").GetProperty("path").GetString().Should().Be("/dermatology/acne");
        context.GetProperty("campaign").GetProperty("source").GetString().Should().Be("newsletter");
        context.GetProperty("userAgent").GetString().Should().Contain("HeadlessChrome");
        context.GetProperty("locale").GetString().Should().Be("en-GB");
        stored.GetProperty("timestamp").GetDateTimeOffset().Should().Be(Now.AddDays(-2));
    }

    [Fact]
    public async Task A_segment_condition_reads_the_page_context_analytics_js_sends()
    {
        var clock = new ManualClock(Now);
        using var host = Host(clock);
        await Ready(host);
        await SendPage(host, AnalyticsJsPage("ajs-campaign", "/dermatology/acne", Now.AddHours(-1), Now.AddHours(-1)));
        await host.Processed();
        var admin = host.AdminClient();
        var profile = await admin.ProfileId("anonymous_id:ajs-campaign");
        var preview = await admin.PostAsJsonAsync("/api/segments/preview", new
        {
            where = "performed page where context.page.path startsWith \"/dermatology\" and context.campaign.source = \"newsletter\" within 7d",
        });
        preview.StatusCode.Should().Be(HttpStatusCode.OK, await preview.Content.ReadAsStringAsync());
        (await preview.Content.ReadAsStringAsync()).Should().Contain(profile);
    }

    [Fact]
    public async Task Page_views_dated_in_the_year_9999_are_stored_at_their_arrival_and_leave_the_30_day_window()
    {
        var clock = new ManualClock(Now);
        using var host = Host(clock);
        await Ready(host);
        var future = new DateTimeOffset(9999, 12, 31, 0, 0, 0, TimeSpan.Zero);
        await SendPage(host, AnalyticsJsPage("ajs-future", "/dermatology/acne", future, Now));
        await SendPage(host, AnalyticsJsPage("ajs-future", "/dermatology/acne", future, Now));
        await host.Processed();
        var admin = host.AdminClient();
        var profile = await admin.ProfileId("anonymous_id:ajs-future");
        (await Members(admin)).Should().Equal(profile);

        clock.Set(Now.AddDays(31));
        (await admin.PostAsync("/api/segments/sweep", null)).EnsureSuccessStatusCode();
        (await Members(admin)).Should().BeEmpty("the views count from when they arrived, not from the year 9999");
    }

    private static async Task<List<string>> Members(HttpClient admin)
    {
        var page = await admin.GetFromJsonAsync<JsonElement>($"/api/segments/{Seed}/members");
        return page.GetProperty("members").EnumerateArray().Select(m => m.GetString()!).ToList();
    }

    /// <summary>Waits until every segment is built (the first build runs in the background after start-up).</summary>
    private static async Task Ready(CdpHost host)
    {
        var catalogue = host.Service<SegmentCatalogue>();
        var definitions = host.Service<Cdp.Modules.Shared.Storage.CdpDatabase>().Collection("segment_defs");
        bool Built() => !catalogue.Current.Ordered.Any(s => !s.Built) && definitions.FindAll().All(d => d.TryGetValue("built", out var b) && b.AsBoolean);
        for (var i = 0; i < 600 && !Built(); i++) await Task.Delay(50);
        Built().Should().BeTrue();
        host.Service<IProfileProcessor>().Status.LastError.Should().BeNull();
    }
}
