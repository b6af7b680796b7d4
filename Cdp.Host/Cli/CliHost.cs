using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Host.Cli;

/// <summary>
/// Runs a CLI verb against the data file without serving HTTP: starts only the event log (and, when asked, the
/// profile processor), runs the verb, stops them. Run verbs while the server is stopped: LiteDB opens the file directly.
/// </summary>
internal static class CliHost
{
    public static async Task<int> RunAsync(string[] args, bool withProcessor, Func<IServiceProvider, Task<int>> verb)
    {
        var app = CdpApp.Build(CdpApp.CreateBuilder(args));
        CdpApp.ValidateSettings(app.Services);
        var started = new List<IHostedService>();
        try
        {
            foreach (var service in app.Services.GetServices<IHostedService>())
            {
                var isLog = service.GetType().Namespace?.StartsWith("Cdp.Modules.Collection", StringComparison.Ordinal) == true;
                if (!isLog && !(withProcessor && service is IProfileProcessor)) continue;
                await service.StartAsync(CancellationToken.None);
                started.Add(service);
            }
            return await verb(app.Services);
        }
        finally
        {
            for (var i = started.Count - 1; i >= 0; i--) await started[i].StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }

    /// <summary>The first argument that is not an option (a --key=value setting or its value).</summary>
    public static (string? Value, string[] Others) TakePositional(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith('-'))
            {
                if (!args[i].Contains('=') && i + 1 < args.Length && !args[i + 1].StartsWith('-')) i++; // "--key value"
                continue;
            }
            return (args[i], args.Where((_, j) => j != i).ToArray());
        }
        return (null, args);
    }
}
