using System.Net;
using Cdp.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cdp.Tests.Configuration;

/// <summary>An edit of appsettings.json while Cdp runs is reported in the log (settings are read at start), never applied half-way nor fatal.</summary>
public sealed class SettingsChangeTests
{
    private static (CdpHost Host, CapturedLog Log, IConfigurationRoot Configuration) Start()
    {
        var log = new CapturedLog(category: "SettingsChangeWatcher");
        var host = new CdpHost(services: s => s.AddSingleton<ILoggerProvider>(log));
        _ = host.ServerAddress; // started
        return (host, log, (IConfigurationRoot)host.Service<IConfiguration>());
    }

    private static void Edit(IConfigurationRoot configuration, string key, string value)
    {
        configuration[key] = value;
        // the validated options' own monitor throws out of a synchronous Reload (in production it runs on the file
        // watcher's task and is only unobserved); what matters here is what the watcher logs and that the server goes on
        _ = Record.Exception(configuration.Reload);
    }

    [Fact]
    public async Task An_invalid_edit_while_running_is_logged_naming_the_key_and_the_server_keeps_serving()
    {
        var (host, log, configuration) = Start();
        using (host)
        {
            Edit(configuration, "Cdp:Collection:QueueCapacity", "-5");

            log.Entries.Should().ContainSingle(l => l.Level == LogLevel.Error).Which.Text.Should()
                .Contain("Cdp:Collection:QueueCapacity").And.Contain("keeps running with the settings it started with");
            (await host.AdminClient().GetAsync("/api/segments")).StatusCode.Should().Be(HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_is_logged_as_invalid_instead_of_thrown()
    {
        var (host, log, configuration) = Start();
        using (host)
        {
            Edit(configuration, "Cdp:Collection:QueueCapacity", "lots");

            log.Entries.Should().ContainSingle(l => l.Level == LogLevel.Error).Which.Text.Should().Contain("QueueCapacity");
            (await host.AdminClient().GetAsync("/api/segments")).StatusCode.Should().Be(HttpStatusCode.OK);
        }
    }

    [Fact]
    public void A_valid_edit_is_logged_once_as_taking_effect_at_the_next_restart()
    {
        var (host, log, configuration) = Start();
        using (host)
        {
            Edit(configuration, "Cdp:Collection:QueueCapacity", "50000");
            _ = Record.Exception(configuration.Reload); // the file watcher often fires twice for one save

            log.Entries.Should().ContainSingle().Which.Should().Match<(LogLevel Level, string Text)>(l =>
                l.Level == LogLevel.Warning && l.Text.Contains("Cdp:Collection") && l.Text.Contains("next restart"));
        }
    }

    [Fact]
    public void Reloading_unchanged_settings_logs_nothing()
    {
        var (host, log, configuration) = Start();
        using (host)
        {
            _ = Record.Exception(configuration.Reload);
            log.Entries.Should().BeEmpty();
        }
    }
}
