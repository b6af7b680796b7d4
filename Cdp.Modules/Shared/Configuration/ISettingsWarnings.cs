using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cdp.Modules.Shared.Configuration;

/// <summary>
/// Settings that are valid but probably not what was meant (e.g. a segment on an event no tracking plan has). A module
/// registers one as a service; <c>check-config</c> prints each warning (its exit code stays that of the validation) and
/// the server logs each at start (<see cref="SettingsWarningsLog"/>). Each warning names its setting's key, e.g.
/// "Cdp:Segments:vip:Where: ...".
/// </summary>
public interface ISettingsWarnings
{
    /// <summary>The warnings of the current (validated) settings; none when all is well.</summary>
    IEnumerable<string> Warnings();
}

public static class SettingsWarnings
{
    /// <summary>Every module's warnings about the (validated) settings: <c>check-config</c> prints them.</summary>
    public static IReadOnlyList<string> Of(IServiceProvider services) => Of(services.GetServices<ISettingsWarnings>());

    internal static IReadOnlyList<string> Of(IEnumerable<ISettingsWarnings> sources) => sources.SelectMany(s => s.Warnings()).ToList();
}

/// <summary>Logs every <see cref="ISettingsWarnings"/> warning once at start, as a warning line naming the setting's key.</summary>
internal sealed class SettingsWarningsLog(IEnumerable<ISettingsWarnings> sources, ILogger<SettingsWarningsLog> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var warning in SettingsWarnings.Of(sources))
                log.LogWarning("Settings warning (Cdp runs all the same): {Warning}", warning);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // a warning is advice: failing to list them never stops the start
            log.LogWarning(ex, "The settings warnings could not be listed (check-config lists them)");
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
