using Cdp.Tests.Support;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cdp.Tests.Scheduling;

/// <summary>Cdp:Scheduling:Queues replaces the default list: the server takes exactly the configured queues, in their order.</summary>
public sealed class JobQueueSettingsTests
{
    private static async Task<(IReadOnlyList<string> Served, string LogLine)> Start(params (string, string?)[] settings)
    {
        var log = new CapturedLog();
        using var host = new CdpHost(FastScheduling.Settings([("Logging:LogLevel:Cdp.Modules.Scheduling", "Information"), .. settings]),
            services: s => s.AddSingleton<ILoggerProvider>(log));
        var storage = host.Service<JobStorage>();
        IReadOnlyList<string> served = [];
        await Eventually.Until(() => (served = storage.GetMonitoringApi().Servers().SingleOrDefault()?.Queues.ToList() ?? []).Count > 0,
            "the job server to announce itself");
        return (served, log.Lines.Single(l => l.StartsWith("Job server started", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Configured_queues_replace_the_default_list_and_the_log_shows_them_in_their_order()
    {
        var (served, logLine) = await Start(("Cdp:Scheduling:Queues:0", "critical"), ("Cdp:Scheduling:Queues:1", "default"));
        served.Should().Equal("critical", "default");
        logLine.Should().Contain("workers on critical,default,");
    }

    [Fact]
    public async Task The_shipped_settings_serve_the_default_queue_once()
    {
        var (served, logLine) = await Start();
        served.Should().Equal("default");
        logLine.Should().Contain("workers on default,");
    }

    [Fact]
    public async Task A_single_configured_queue_is_the_only_one_served()
    {
        var (served, _) = await Start(("Cdp:Scheduling:Queues:0", "reports"));
        served.Should().Equal("reports");
    }
}
