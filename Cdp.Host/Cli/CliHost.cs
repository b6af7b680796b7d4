using Cdp.Modules.Shared.Storage.PostgreSql;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Host.Cli;

/// <summary>
/// Runs a CLI verb against the data file without serving HTTP: starts only the event log (and, when asked, the
/// profile processor), runs the verb, stops them. Run verbs while the server is stopped: one Cdp process per database
/// (LiteDB's file lock, PostgreSQL's instance lock) refuses them otherwise.
/// </summary>
internal static class CliHost
{
    public static async Task<int> RunAsync(string[] args, bool withProcessor, Func<IServiceProvider, Task<int>> verb)
    {
        var builder = CdpApp.CreateBuilder(args);
        var app = CdpApp.Build(builder);
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
}
