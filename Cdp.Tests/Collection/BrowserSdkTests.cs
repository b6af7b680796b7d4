using System.Globalization;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Tests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Tests.Collection;

/// <summary>
/// The real browser SDKs (@segment/analytics-next and @rudderstack/analytics-js, pinned in Cdp.Tests/Node) in headless
/// chromium, on a page served from another origin than Cdp, configured with nothing but Cdp's address and the write
/// key (analytics.js loads its settings from Cdp's cdnURL, RudderStack its source config from Cdp's configUrl). Each
/// sending mode sends page, identify, track, group and alias; every event must be stored exactly once under the
/// SDK's messageId with the client's event time, the anonymous visitor and the known person must end in one profile,
/// and the page must log no error and send nothing off loopback.
/// </summary>
public sealed class BrowserSdkTests(BrowserSdkFixture fx) : IClassFixture<BrowserSdkFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Stored time vs the client's time: the sentAt correction moves it by the request's travel time only.</summary>
    private static readonly TimeSpan ClockTolerance = TimeSpan.FromSeconds(5);

    private const string AnalyticsJs = """
        async ({ cdp, writeKey, mode, runId, pastTime }) => {
          const strategies = {
            default: undefined,
            batching: { strategy: 'batching', config: { size: 5, timeout: 1000 } },
            keepalive: { strategy: 'standard', config: { keepalive: true } },
            // nothing is sent until the page is left: then the batch goes out as a keepalive fetch
            unload: { strategy: 'batching', config: { size: 100, timeout: 600000 } },
          };
          const strategy = strategies[mode];
          // the npm package bundled by the site (window.AnalyticsBrowser) or the self-hosted UMD script (window.AnalyticsNext)
          const AnalyticsBrowser = window.AnalyticsBrowser ?? window.AnalyticsNext.AnalyticsBrowser;
          const [analytics] = await AnalyticsBrowser.load(
            { writeKey, cdnURL: cdp },
            strategy ? { integrations: { 'Segment.io': { deliveryStrategy: strategy } } } : {});
          const calls = [];
          const record = (ctx) => calls.push({ type: ctx.event.type, messageId: ctx.event.messageId, time: new Date(ctx.event.timestamp).toISOString() });
          const anonymousId = analytics.user().anonymousId();
          const userId = 'u-' + runId;
          record(await analytics.page('Clinic', 'Acne', { section: 'skin' }));
          record(await analytics.identify(userId, { email: 'jane-' + runId + '@example.com', first_name: 'Jane' }));
          record(await analytics.track('Appointment Booked', { clinic: 'Dermatology', value: 120.5 }, { timestamp: new Date(pastTime) }));
          record(await analytics.group('clinic-' + runId, { name: 'North Clinic' }));
          record(await analytics.alias(userId, anonymousId));
          return { anonymousId, userId, calls };
        }
        """;

    private const string RudderStackJs = """
        async ({ cdp, writeKey, mode, runId, pastTime }) => {
          const options = { configUrl: cdp };
          if (mode === 'batching') options.queueOptions = { batch: { enabled: true, maxItems: 5, flushInterval: 1000 } };
          // sendBeacon, flushed when the page is left
          if (mode === 'beacon') { options.useBeacon = true; options.beaconQueueOptions = { maxItems: 100, flushQueueInterval: 600000 }; }
          // the site's own bundle of the npm package (window.RudderAnalytics) or the self-hosted UMD script
          const RudderAnalytics = window.RudderAnalytics ?? window.rudderanalytics.RudderAnalytics;
          const rs = new RudderAnalytics();
          await new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('RudderStack was not ready after 15 s (its source config from ' + cdp + '?)')), 15000);
            rs.load(writeKey, cdp, options);
            rs.ready(() => { clearTimeout(timer); resolve(); });
          });
          const calls = [];
          let allQueued;
          const queued = new Promise((resolve) => { allQueued = resolve; });
          const record = (e) => { calls.push({ type: e.type, messageId: e.messageId, time: e.originalTimestamp }); if (calls.length === 5) allQueued(); };
          const anonymousId = rs.getAnonymousId();
          const userId = 'u-' + runId;
          rs.page('Clinic', 'Acne', { section: 'skin' }, record);
          rs.identify(userId, { email: 'jane-' + runId + '@example.com', first_name: 'Jane' }, record);
          rs.track('Appointment Booked', { clinic: 'Dermatology', value: 120.5 }, { originalTimestamp: pastTime }, record);
          rs.group('clinic-' + runId, { name: 'North Clinic' }, record);
          rs.alias(userId, anonymousId, record);
          await queued;
          return { anonymousId, userId, calls };
        }
        """;

    /// <summary>The POSTs each mode makes to Cdp (path and query), read from the SDKs' sources: proves the mode really was used.</summary>
    private static readonly Dictionary<string, string[]> Posts = new()
    {
        ["analytics-next default"] = ["/v1/p", "/v1/i", "/v1/t", "/v1/g", "/v1/a"],
        ["analytics-next keepalive"] = ["/v1/p", "/v1/i", "/v1/t", "/v1/g", "/v1/a"],
        ["analytics-next batching"] = ["/v1/b"],
        ["analytics-next unload"] = ["/v1/b"],
        ["analytics-next-umd default"] = ["/v1/p", "/v1/i", "/v1/t", "/v1/g", "/v1/a"],
        ["rudderstack default"] = ["/v1/page", "/v1/identify", "/v1/track", "/v1/group", "/v1/alias"],
        ["rudderstack batching"] = ["/v1/batch"],
        ["rudderstack-npm default"] = ["/v1/page", "/v1/identify", "/v1/track", "/v1/group", "/v1/alias"],
        ["rudderstack beacon"] = ["/beacon/v1/batch?writeKey=" + CdpHost.WriteKey],
    };

    [SkippableTheory]
    [InlineData("default")]
    [InlineData("batching")]
    [InlineData("keepalive")]
    [InlineData("unload")]
    public Task Analytics_js_delivers_page_identify_track_group_alias_once_each_with_the_client_time_into_one_profile(string mode) =>
        Deliver("analytics-next", AnalyticsJs, mode, leavesPage: mode == "unload");

    /// <summary>
    /// The UMD build in a plain script tag, its chunks self-hosted too: the page's ajs_aid query parameter makes it load
    /// its queryString chunk, which must come from the site, not from Segment's CDN.
    /// </summary>
    [SkippableFact]
    public Task Analytics_js_self_hosted_with_a_script_tag_delivers_every_call_once_with_nothing_fetched_from_a_CDN() =>
        Deliver("analytics-next-umd", AnalyticsJs, "default", leavesPage: false);

    [SkippableTheory]
    [InlineData("default")]
    [InlineData("batching")]
    [InlineData("beacon")]
    public Task RudderStack_js_delivers_page_identify_track_group_alias_once_each_with_the_client_time_into_one_profile(string mode) =>
        Deliver("rudderstack", RudderStackJs, mode, leavesPage: mode == "beacon");

    /// <summary>The README's npm way: a site bundles <c>@rudderstack/analytics-js/bundled</c> (here with esbuild).</summary>
    [SkippableFact]
    public Task RudderStack_js_from_npm_bundled_by_the_site_delivers_every_call_once_with_nothing_fetched_from_a_CDN() =>
        Deliver("rudderstack-npm", RudderStackJs, "default", leavesPage: false);

    private async Task Deliver(string sdk, string script, string mode, bool leavesPage)
    {
        Skip.If(BrowserSdkFixture.MissingReason is not null, BrowserSdkFixture.MissingReason);
        var requests = new CdpRequestLog();
        using var host = new CdpHost(services: s => s.AddSingleton<IStartupFilter>(requests));
        var cdp = host.ServerAddress.TrimEnd('/');
        new Uri(cdp).Port.Should().NotBe(new Uri(fx.SiteAddress).Port, "the page must be another origin than Cdp");
        var runId = Guid.NewGuid().ToString("N")[..8];
        // an explicit client time well in the past: stored as such, it cannot be the server's receivedAt
        var pastTime = DateTimeOffset.UtcNow.AddDays(-3).AddMinutes(-17);
        var pastIso = pastTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

        await using var tab = await SdkTab.OpenAsync(fx, sdk, sdk == "analytics-next-umd" ? "&ajs_aid=visitor-" + runId : "");
        JsonElement sent;
        try
        {
            sent = await tab.Page.EvaluateAsync<JsonElement>(script, new { cdp, writeKey = CdpHost.WriteKey, mode, runId, pastTime = pastIso });
        }
        catch (Microsoft.Playwright.PlaywrightException e)
        {
            throw new Xunit.Sdk.XunitException($"{sdk} ({mode}) failed in the page: {e.Message}\n problems:\n  {string.Join("\n  ", tab.Problems)}\n log:\n  {tab.Log}");
        }
        if (leavesPage) await tab.Page.GotoAsync(fx.SiteAddress + "/bye");

        var calls = sent.GetProperty("calls").EnumerateArray()
            .Select(c => (Type: c.GetProperty("type").GetString()!, MessageId: c.GetProperty("messageId").GetString()!, Time: DateTimeOffset.Parse(c.GetProperty("time").GetString()!, CultureInfo.InvariantCulture)))
            .ToList();
        calls.Select(c => c.Type).Should().Equal("page", "identify", "track", "group", "alias");
        var anonymousId = sent.GetProperty("anonymousId").GetString()!;
        if (sdk == "analytics-next-umd") anonymousId.Should().Be("visitor-" + runId, "analytics.js takes the anonymous id from the ajs_aid query parameter");
        var userId = sent.GetProperty("userId").GetString()!;

        var stored = await StoredEvents(host, calls.Count, tab, $"{sdk} ({mode})");
        stored.Select(e => e.MessageId).Should().BeEquivalentTo(calls.Select(c => c.MessageId), "each call is stored exactly once under the SDK's messageId");
        foreach (var e in stored) e.Source.Should().Be("web");

        var byId = stored.ToDictionary(e => e.MessageId, e => JsonDocument.Parse(e.Json).RootElement.Clone());
        foreach (var call in calls)
        {
            var json = byId[call.MessageId];
            json.GetProperty("type").GetString().Should().Be(call.Type);
            var timestamp = DateTimeOffset.Parse(json.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture);
            timestamp.Should().BeCloseTo(call.Time, ClockTolerance, $"the stored time of the {call.Type} is the client's time ({json})");
        }
        var track = byId[calls.Single(c => c.Type == "track").MessageId];
        DateTimeOffset.Parse(track.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture)
            .Should().BeCloseTo(pastTime, ClockTolerance, "the track carried an explicit client time three days ago");
        var page = byId[calls.Single(c => c.Type == "page").MessageId];
        page.GetProperty("context").GetProperty("page").GetProperty("path").GetString().Should().Be(BrowserSdkFixture.PagePath);
        page.GetProperty("context").GetProperty("campaign").GetProperty("source").GetString().Should().Be("newsletter");

        await host.Processed();
        var admin = host.AdminClient();
        var visitor = await admin.ProfileId("anonymous_id:" + anonymousId);
        var person = await admin.ProfileId("user_id:" + userId);
        visitor.Should().Be(person, "the anonymous visitor is stitched to the known person");

        var seen = requests.Seen;
        seen.Where(r => r.Method == "POST").Select(r => r.PathAndQuery).Distinct()
            .Should().BeEquivalentTo(Posts[$"{sdk} {mode}"], $"the {mode} mode of {sdk} sends these requests ({string.Join(", ", seen)})");
        seen.Should().OnlyContain(r => r.Status < 400, "Cdp answered every request of the SDK with success");
        // analytics.js's event POSTs and RudderStack's XHRs (its source config fetch too) carry Authorization: preflighted
        seen.Should().Contain(r => r.Method == "OPTIONS" && r.Status == 204, "the SDK's Authorization header makes the browser ask first, and Cdp agrees");
        tab.Problems.Should().BeEmpty($"a website must see no error and send nothing off loopback; log:\n  {tab.Log}");
    }

    /// <summary>Waits until the log holds <paramref name="count"/> events (or the patience runs out), then returns all of them.</summary>
    private static async Task<IReadOnlyList<LoggedEvent>> StoredEvents(CdpHost host, int count, SdkTab tab, string what)
    {
        var log = host.Service<IEventLog>();
        var deadline = DateTime.UtcNow + Patience;
        while (log.LastSequence < count && DateTime.UtcNow < deadline)
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            try { await log.WaitForEventsAfterAsync(log.LastSequence, wait.Token); } catch (OperationCanceledException) { }
        }
        var events = log.ReadAfter(0, 1000);
        if (events.Count < count)
        {
            throw new Xunit.Sdk.XunitException(
                $"{what}: {events.Count} of {count} events stored after {Patience.TotalSeconds} s\n problems:\n  {string.Join("\n  ", tab.Problems)}\n log:\n  {tab.Log}");
        }
        return events;
    }
}
