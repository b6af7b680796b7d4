using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Cdp.Modules.Shared.Http;

/// <summary>
/// A module's counters and gauges, registered once at start on Cdp's <see cref="Meter"/> (System.Diagnostics.Metrics) and read
/// by their callbacks at each scrape of GET /metrics (OpenTelemetry's Prometheus exporter). Registered in DI by the module.
/// </summary>
public interface IMetricsSource
{
    void Register(CdpMetrics metrics);
}

/// <summary>
/// Cdp's own instruments. They observe counts the modules keep anyway (Interlocked fields read at a scrape), so
/// no hot path records anything for them. Metric names are the Prometheus names, with no unit suffix added.
/// </summary>
public sealed class CdpMetrics : IDisposable
{
    /// <summary>The meter's name: OpenTelemetry subscribes to it; the exporter labels every series with it (otel_scope_name="Cdp").</summary>
    public const string MeterName = "Cdp";

    /// <summary>Created by the host's IMeterFactory (its Scope), like ASP.NET Core's own meters.</summary>
    public CdpMetrics(IMeterFactory factory) => Meter = factory.Create(MeterName);

    public Meter Meter { get; }

    public void Counter(string name, string help, Func<long> value) => Meter.CreateObservableCounter(name, value, description: help);

    public void Gauge(string name, string help, Func<long> value) => Meter.CreateObservableGauge(name, value, description: help);

    public void Gauge(string name, string help, Func<double> value) => Meter.CreateObservableGauge(name, value, description: help);

    /// <summary>One counter with a sample per label set, e.g. cdp_sync_runs_total{destination="news",status="failed"} 3.</summary>
    public void Counter(string name, string help, Func<IEnumerable<(IReadOnlyList<(string Name, string Value)> Labels, long Value)>> samples) =>
        Meter.CreateObservableCounter(name, () => samples().Select(s =>
            new Measurement<long>(s.Value, s.Labels.Select(l => new KeyValuePair<string, object?>(l.Name, l.Value)))), description: help);

    /// <summary>The host's IMeterFactory disposes the meter.</summary>
    public void Dispose() { }
}

public static class MetricsServices
{
    /// <summary>
    /// The meters exported besides Cdp's own: ASP.NET Core's request durations (http.server.request.duration, by route,
    /// method and status) and active requests, Kestrel's connections, and the runtime's GC, heap, thread pool and CPU.
    /// All built into .NET: listening to them is all it takes.
    /// </summary>
    private static readonly string[] PlatformMeters = ["System.Runtime"];

    /// <summary>
    /// Per-request meters, only with Cdp:Http:RequestMetrics: listening to them cost ~13% of /v1/track's single-event
    /// throughput in the benchmark (paired runs, 2 cores), even with the tracking routes' own histograms disabled.
    /// </summary>
    private static readonly string[] RequestMeters = ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    /// <summary>Cdp's meter, the modules' instruments on it (registered at start), and OpenTelemetry with its Prometheus exporter.</summary>
    public static IServiceCollection AddCdpMetrics(this IServiceCollection services)
    {
        services.AddMetrics();
        services.AddSingleton<CdpMetrics>();
        services.AddHostedService<MetricsRegistration>();
        services.AddOpenTelemetry().WithMetrics(b =>
        {
            b.AddMeter(CdpMetrics.MeterName).AddMeter(PlatformMeters)
                // every scrape reads the counters now: tests and operators read /metrics right after an action
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
            // OpenTelemetry subscribes by meter name in the whole process. One host per process in production; the hosts a
            // test process runs side by side each export only the meters of their own IMeterFactory (and the runtime's).
            ((IDeferredMeterProviderBuilder)b).Configure((sp, builder) =>
            {
                if (sp.GetRequiredService<IOptions<HttpLimitsOptions>>().Value.RequestMetrics) builder.AddMeter(RequestMeters);
                var own = sp.GetRequiredService<IMeterFactory>();
                builder.AddView(i => i.Meter.Scope is IMeterFactory factory && !ReferenceEquals(factory, own) ? MetricStreamConfiguration.Drop : null);
            });
        });
        return services;
    }

    /// <summary>Creates every module's instruments once the services exist (the instruments' callbacks hold the modules' singletons).</summary>
    private sealed class MetricsRegistration(CdpMetrics metrics, IEnumerable<IMetricsSource> sources) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            foreach (var source in sources) source.Register(metrics);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
