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

    public Task StartAsync(CancellationToken cancellationToken)
    {
        catalog.Reconcile();
        if (!options.Value.ServerEnabled)
        {
            log.LogInformation("Job server disabled (Cdp:Scheduling:ServerEnabled=false); jobs are only stored");
            return Task.CompletedTask;
        }
        _server = machinery.StartServer(options.Value);
        log.LogInformation("Job server started: {Workers} workers on {Queues}, jobs file {Path}",
            options.Value.WorkerCount, string.Join(",", options.Value.Queues), machinery.Storage.FilePath);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Taken once: the test host can call StopAsync twice, overlapping (a second caller must not dispose a null server).
        var server = Interlocked.Exchange(ref _server, null);
        if (server is null) return;
        server.SendStop();
        try
        {
            await server.WaitForShutdownAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's own stop timeout won: running jobs are left fetched and run again after restart.
        }
        server.Dispose();
    }
}
