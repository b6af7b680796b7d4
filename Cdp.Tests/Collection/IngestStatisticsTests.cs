using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Support;

namespace Cdp.Tests.Collection;

/// <summary>GET /api/collection/stats: what the admin overview draws, counted by the server, not read from the events.</summary>
public sealed class IngestStatisticsTests
{
    private static async Task<JsonElement> Stats(CdpHost host, string range) =>
        await host.AdminClient(CdpHost.AnalystKey).GetFromJsonAsync<JsonElement>("/api/collection/stats?range=" + range);

    [Fact]
    public async Task The_statistics_count_accepted_dead_lettered_and_rejected_events_per_bucket_and_keep_them_across_a_restart()
    {
        using var folder = new TempFolder();
        using (var host = new CdpHost(folder: folder))
        {
            var tracking = host.TrackingClient();
            for (var i = 0; i < 3; i++) (await tracking.PostAsync("/v1/track", TrackingApiTests.Json($$"""{"userId":"u{{i}}","event":"A"}"""))).EnsureSuccessStatusCode();
            await tracking.PostAsync("/v1/track", TrackingApiTests.Json("""{"event":"no id"}""")); // kept as a dead letter
            await tracking.PostAsync("/v1/track", TrackingApiTests.Json("""{"userId":""")); // refused: 400

            var hour = await Stats(host, "1h");
            hour.GetProperty("bucketSeconds").GetInt32().Should().Be(300);
            hour.GetProperty("buckets").GetArrayLength().Should().Be(12);
            var totals = hour.GetProperty("totals");
            totals.GetProperty("accepted").GetInt64().Should().Be(3);
            totals.GetProperty("deadLettered").GetInt64().Should().Be(1);
            totals.GetProperty("rejected").GetInt64().Should().Be(1);
            var last = hour.GetProperty("buckets").EnumerateArray().Last();
            last.GetProperty("accepted").GetInt64().Should().Be(3, "the events fell in the current bucket");

            var week = await Stats(host, "7d");
            week.GetProperty("buckets").GetArrayLength().Should().Be(28);
            week.GetProperty("totals").GetProperty("accepted").GetInt64().Should().Be(3);
        }

        using (var restarted = new CdpHost(folder: folder))
        {
            (await restarted.TrackingClient().PostAsync("/v1/track", TrackingApiTests.Json("""{"userId":"after","event":"A"}"""))).EnsureSuccessStatusCode();
            var day = await Stats(restarted, "24h");
            day.GetProperty("totals").GetProperty("accepted").GetInt64().Should().Be(4, "the counts before the restart were kept in cdp.db");
            day.GetProperty("totals").GetProperty("deadLettered").GetInt64().Should().Be(1);
        }
    }

    [Fact]
    public async Task An_unknown_range_is_a_problem_and_the_statistics_need_a_key()
    {
        using var host = new CdpHost();
        (await host.AdminClient().GetAsync("/api/collection/stats?range=1y")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await host.CreateClient().GetAsync("/api/collection/stats")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }
}
