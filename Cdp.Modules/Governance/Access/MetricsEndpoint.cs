using Cdp.Modules.Shared.Http;

namespace Cdp.Modules.Governance.Access;

/// <summary>GET /metrics: every module's counters in Prometheus text format, for an analyst or admin key (Bearer).</summary>
internal static class MetricsEndpoint
{
    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/metrics", (IEnumerable<IMetricsSource> sources) =>
        {
            var writer = new MetricsWriter();
            foreach (var source in sources) source.Collect(writer);
            return Results.Text(writer.ToString(), "text/plain; version=0.0.4");
        }).RequireReader().WithTags("Operations").WithSummary("Counters and gauges in Prometheus text format");
}
