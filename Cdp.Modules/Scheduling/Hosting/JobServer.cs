using Cdp.Modules.Shared.Modules;
using Hangfire;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Scheduling.Hosting;

/// <summary>
/// Starts the job server with the host: reconciles the recurring jobs of appsettings first (a bad entry stops
/// the start), then runs Hangfire's workers, schedulers and the storage's expiration until the host stops.
/// </summary>
[Service]
internal sealed class JobServer(
    JobMachinery machinery,
    RecurringJobCatalog catalog,
    IOptions<SchedulingOptions> options,
    ILogger<JobServer> log) : IHostedService
{
    private BackgroundJobServer? _server;
    private readonly object _stopGate = new();
    private Task? _stopping;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        catalog.Reconcile();
        if (!options.Value.ServerEnabled)
        {
            log.LogInformation("Job server disabled (Cdp:Scheduling:ServerEnabled=false); jobs are only stored");
            return Task.CompletedTask;
        }
        _server = machinery.StartServer(options.Value);
        log.LogInformation("Job server started: {Workers} workers on {Queues}, jobs in {Where}",
            options.Value.WorkerCount, string.Join(",", options.Value.ServedQueues()),
            machinery.Storage is Storage.LiteDbJobStorage liteDb ? "the file " + liteDb.FilePath : $"the PostgreSQL schema {Storage.PostgreSql.PostgresJobStorage.Schema}");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // The host may stop twice (application stop, then dispose): both wait for the one shutdown, so the
        // storage is never disposed under a server that is still removing itself.
        lock (_stopGate) return _stopping ??= Stop(cancellationToken);
    }

    private async Task Stop(CancellationToken cancellationToken)
    {
        if (_server is not { } server) return;
        server.SendStop();
        try
        {
            await server.WaitForShutdownAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's own stop timeout won: running jobs stay fetched and run again after restart.
        }
        server.Dispose();
    }
}
