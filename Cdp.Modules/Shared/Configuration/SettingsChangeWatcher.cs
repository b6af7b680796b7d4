using FluentValidation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Cdp.Modules.Shared.Configuration;

/// <summary>One validated settings section, read again from the configuration when appsettings.json changes.</summary>
internal interface IWatchedSettings
{
    string Section { get; }

    /// <summary>The options class the section binds to (the documentation test walks its properties).</summary>
    Type OptionsType { get; }

    /// <summary>The section's keys and values as configured (to tell a change), and why it is invalid (empty when valid).</summary>
    (string Snapshot, IReadOnlyList<string> Failures) Read(IConfiguration configuration);
}

internal sealed class WatchedSettings<TOptions>(string section, IValidator<TOptions> validator) : IWatchedSettings
    where TOptions : class, new()
{
    public string Section { get; } = section;

    public Type OptionsType => typeof(TOptions);

    public (string Snapshot, IReadOnlyList<string> Failures) Read(IConfiguration configuration)
    {
        var node = configuration.GetSection(Section);
        var snapshot = string.Join('\n', node.AsEnumerable().Where(kv => kv.Value is not null).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => kv.Key + "=" + kv.Value));
        var options = new TOptions();
        try
        {
            node.Bind(options, b => b.ErrorOnUnknownConfiguration = false);
        }
        catch (InvalidOperationException e)
        {
            // a value of the wrong type ("abc" for a number): the binder names the key in its message
            return (snapshot, [$"{Section}: {e.Message}"]);
        }
        return (snapshot, SettingsValidation.Failures(validator.Validate(options), Section).ToList());
    }
}

/// <summary>
/// Settings are read once, at start (only the admin API keys follow an edit while Cdp runs). When appsettings.json changes,
/// this says so in the log instead of staying silent: an edit that a restart would refuse is logged as an error naming each
/// bad key (Cdp keeps running with the settings it started with), a valid change as a warning that it takes effect at the
/// next restart. Nothing is applied and nothing can stop the server here.
/// </summary>
internal sealed class SettingsChangeWatcher(IEnumerable<IWatchedSettings> sections, IConfiguration configuration, ILogger<SettingsChangeWatcher> log)
    : IHostedService, IDisposable
{
    private readonly IWatchedSettings[] _sections = sections.GroupBy(s => s.Section, StringComparer.OrdinalIgnoreCase).Select(g => g.First()).ToArray();
    private readonly Dictionary<string, string> _started = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _lastSeen = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _gate = new();
    private IDisposable? _subscription;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var section in _sections)
            {
                var (snapshot, _) = section.Read(configuration);
                _started[section.Section] = snapshot;
                _lastSeen[section.Section] = snapshot;
            }
        }
        _subscription = ChangeToken.OnChange(configuration.GetReloadToken, Check);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _subscription?.Dispose();

    /// <summary>Compares every section with what Cdp started with and logs what an operator must know; never throws.</summary>
    internal void Check()
    {
        try
        {
            lock (_gate)
            {
                var failures = new List<string>();
                var changed = new List<string>();
                var news = false;
                foreach (var section in _sections)
                {
                    var (snapshot, bad) = section.Read(configuration);
                    if (_lastSeen.TryGetValue(section.Section, out var seen) && seen == snapshot) continue;
                    news = true;
                    _lastSeen[section.Section] = snapshot;
                    failures.AddRange(bad);
                    if (bad.Count == 0 && _started.TryGetValue(section.Section, out var started) && started != snapshot) changed.Add(section.Section);
                }
                if (!news) return;
                if (failures.Count > 0)
                    log.LogError("appsettings.json changed and now holds invalid settings: Cdp keeps running with the settings it started with, and a restart would refuse to start: {Failures}",
                        string.Join("; ", failures));
                if (changed.Count > 0)
                    log.LogWarning("Settings changed in {Sections}: they take effect at the next restart (admin API keys at once). Run `Cdp.Host check-config` before restarting",
                        string.Join(", ", changed));
            }
        }
        catch (Exception e)
        {
            // a reload must never take the server down; a surprise here is only worth a line
            log.LogError(e, "appsettings.json changed and could not be read again; Cdp keeps running with the settings it started with");
        }
    }
}
