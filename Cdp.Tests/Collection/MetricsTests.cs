using System.Net;
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
        var text = await host.AdminClient(CdpHost.AnalystKey).GetStringAsync("/metrics");
        var values = text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' ')).ToDictionary(p => p[0], p => double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
        values["cdp_events_accepted_total"].Should().Be(1);
        values["cdp_events_duplicate_total"].Should().Be(1);
        values["cdp_events_dead_lettered_total"].Should().Be(1);
        values["cdp_requests_rejected_total"].Should().Be(1);
        values["cdp_event_log_last_sequence"].Should().Be(1);
        values.Should().ContainKey("cdp_processor_lag_events");
    }
}
