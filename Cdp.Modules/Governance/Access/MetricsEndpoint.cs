using Cdp.Modules.Shared.Http;

namespace Cdp.Modules.Governance.Access;

/// <summary>
/// GET /metrics: every module's counters, request duration histograms and runtime metrics in Prometheus text format
/// (OpenMetrics when asked for), written by OpenTelemetry's Prometheus exporter, for an analyst or admin key (Bearer).
/// </summary>
internal static class MetricsEndpoint
{
    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapPrometheusScrapingEndpoint("/metrics")
            .RequireReader().WithTags("Operations").WithSummary("Counters, gauges and histograms in Prometheus text format");
}
