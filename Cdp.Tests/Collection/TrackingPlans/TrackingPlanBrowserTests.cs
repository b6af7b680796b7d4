using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Tests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Tests.Collection.TrackingPlans;

/// <summary>
/// The real analytics.js in chromium, on another origin, against a source with the clinic's plan (Omit, unplanned events
/// blocked): the SDK sees only successes (no error, no retry), the valid calls are stored as sent, the invalid property
/// is omitted, and the misspelt event is a dead letter with its reason.
/// </summary>
public sealed class TrackingPlanBrowserTests(BrowserSdkFixture fx) : IClassFixture<BrowserSdkFixture>
{
    private const string Script = """
        async ({ cdp, writeKey }) => {
          const AnalyticsBrowser = window.AnalyticsBrowser ?? window.AnalyticsNext.AnalyticsBrowser;
          const [analytics] = await AnalyticsBrowser.load({ writeKey, cdnURL: cdp });
          const id = (ctx) => ctx.event.messageId;
          return {
            good: id(await analytics.track('Appointment Booked', { clinic: 'North', service: 'dermatology' })),
            omitted: id(await analytics.track('Order Completed', { revenue: '12.50 EUR', currency: 'EUR' })),
            blocked: id(await analytics.track('appointment booked', { clinic: 'North' })),
            identify: id(await analytics.identify('u-browser', { plan: 'gold' })),
          };
        }
        """;

    [SkippableFact]
    public async Task Analytics_js_sees_only_successes_while_the_plan_omits_an_invalid_property_and_blocks_a_misspelt_event()
    {
        Skip.If(BrowserSdkFixture.MissingReason is not null, BrowserSdkFixture.MissingReason);
        var requests = new CdpRequestLog();
        using var host = new CdpHost(services: s => s.AddSingleton<IStartupFilter>(requests), settings: new Dictionary<string, string?>
        {
            ["Cdp:TrackingPlans:clinic:File"] = TrackingPlanCheckTests.ClinicPlanPath,
            ["Cdp:Sources:web:TrackingPlan"] = "clinic",
            ["Cdp:Sources:web:OnViolation"] = "Omit",
            ["Cdp:Sources:web:OnUnplannedEvent"] = "Block",
        });
        await using var tab = await SdkTab.OpenAsync(fx, "analytics-next");
        var ids = await tab.Page.EvaluateAsync<JsonElement>(Script, new { cdp = host.ServerAddress.TrimEnd('/'), writeKey = CdpHost.WriteKey });
        string Id(string name) => ids.GetProperty(name).GetString()!;

        var log = host.Service<IEventLog>();
        Dictionary<string, JsonElement> stored = [];
        JsonElement letters = default;
        await Eventually.Until(async () =>
        {
            stored = log.ReadAfter(0, 100).ToDictionary(e => e.MessageId, e => JsonDocument.Parse(e.Json).RootElement.Clone());
            letters = (await host.AdminClient().GetFromJsonAsync<JsonElement>("/api/collection/dead-letters")).GetProperty("items");
            return stored.Count >= 3 && letters.GetArrayLength() >= 1;
        }, "three calls stored and one dead letter", explain: () => $"stored {stored.Count}, log:\n  {tab.Log}");

        stored.Keys.Should().BeEquivalentTo([Id("good"), Id("omitted"), Id("identify")]);
        stored[Id("good")].GetProperty("properties").GetProperty("service").GetString().Should().Be("dermatology");
        stored[Id("omitted")].GetProperty("properties").EnumerateObject().Select(p => p.Name).Should().Equal(["currency"], "the text revenue was omitted");
        var letter = letters.EnumerateArray().Should().ContainSingle().Subject;
        letter.GetProperty("raw").GetString().Should().Contain(Id("blocked"));
        letter.GetProperty("errors")[0].GetProperty("message").GetString().Should().Contain("'appointment booked' is not an event of tracking plan 'clinic'");
        tab.Problems.Should().BeEmpty($"the SDK is answered as the Segment spec says, whatever the plan made of its calls; log:\n  {tab.Log}");
        requests.Seen.Where(r => r.Method == "POST" && r.PathAndQuery.StartsWith("/v1/t", StringComparison.Ordinal)).Select(r => r.Status)
            .Should().Equal([200, 200, 200], "each track was posted once and answered 200: no retry");
    }
}
