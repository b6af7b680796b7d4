using System.Net;
using System.Text.RegularExpressions;
using Cdp.Tests.Support;

namespace Cdp.Tests.Collection;

public sealed class MetricsTests
{
    [Fact]
    public async Task Metrics_count_accepted_and_rejected_events_and_need_a_key()
    {
        using var host = new CdpHost();
        var tracking = host.TrackingClient();
        await tracking.PostAsync("/v1/track", TrackingApiTests.Json("""{"userId":"u1","event":"A","messageId":"m1"}"""));
        await tracking.PostAsync("/v1/track", TrackingApiTests.Json("""{"userId":"u1","event":"A","messageId":"m1"}"""));
        await tracking.PostAsync("/v1/track", TrackingApiTests.Json("""{"event":"no id"}"""));
        await tracking.PostAsync("/v1/track", TrackingApiTests.Json("""{"userId":"""));

        (await host.CreateClient().GetAsync("/metrics")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var text = await host.AdminClient(CdpHost.AnalystKey).MetricsText();
        var values = text.Split('\n').Where(l => l.StartsWith("cdp_", StringComparison.Ordinal))
            .Select(l => l.Split(' ')).ToDictionary(p => p[0], p => double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
        values["cdp_events_accepted_total"].Should().Be(1);
        values["cdp_events_duplicate_total"].Should().Be(1);
        values["cdp_events_dead_lettered_total"].Should().Be(1);
        values["cdp_requests_rejected_total"].Should().Be(1);
        values["cdp_event_log_last_sequence"].Should().Be(1);
        values.Should().ContainKey("cdp_processor_lag_events");
    }

    [Fact]
    public async Task With_request_metrics_on_metrics_include_request_duration_histograms_by_route_and_the_runtime_metrics()
    {
        using var host = new CdpHost(new Dictionary<string, string?> { ["Cdp:Http:RequestMetrics"] = "true" });
        (await host.TrackingClient().PostAsync("/v1/track", TrackingApiTests.Json("""{"userId":"u1","event":"A"}"""))).EnsureSuccessStatusCode();

        // ASP.NET Core records a request's duration when the request ends on the server, which can be after the client
        // has read the answer: wait for it rather than scrape once.
        var counted = new Regex(@"\nhttp_server_request_duration_seconds_count\{[^}]*http_route=""/v1/track""[^}]*\} [1-9]");
        var text = "";
        await Eventually.Until(async () => counted.IsMatch(text = await host.AdminClient().MetricsText()), "the /v1/track request in the duration histogram", explain: () => text);

        text.Should().Contain("# TYPE http_server_request_duration_seconds histogram");
        text.Should().MatchRegex(@"\ndotnet_gc_heap_total_allocated_bytes(_total)? [1-9]", "the runtime's own meter (System.Runtime)");
        text.Should().MatchRegex(@"\nkestrel_active_connections\{", "Kestrel's meter");
    }

    [Fact]
    public async Task By_default_metrics_hold_the_runtime_meters_but_no_per_request_meters()
    {
        using var host = new CdpHost();
        (await host.TrackingClient().PostAsync("/v1/track", TrackingApiTests.Json("""{"userId":"u1","event":"A"}"""))).EnsureSuccessStatusCode();

        var text = await host.AdminClient().MetricsText();

        text.Should().MatchRegex(@"\ndotnet_gc_heap_total_allocated_bytes(_total)? [1-9]", "the runtime's own meter (System.Runtime)");
        text.Should().NotContain("http_server_request_duration_seconds").And.NotContain("kestrel_active_connections");
    }

    [Fact]
    public async Task Every_cdp_metric_on_metrics_is_documented_in_the_readme()
    {
        using var host = new CdpHost();
        var text = await host.AdminClient().MetricsText();
        var names = text.Split('\n').Where(l => l.StartsWith("# TYPE cdp_", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();
        names.Should().HaveCountGreaterThan(30);
        var readme = Cdp.Tests.Governance.ReadmeRolesTests.Readme();
        names.Where(n => !readme.Contains('`' + n, StringComparison.Ordinal)).Should().BeEmpty("every metric is named in README's Metrics section");
    }
}
