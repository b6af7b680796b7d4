using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
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
    HostLead lead,
    ILogger<JobServer> log) : IHostedService
{
    /// <summary>Workers on the leader queue: its jobs (a sweep, a matching run) take the processor's lock in turns anyway.</summary>
    public const int LeaderWorkers = 1;

    private BackgroundJobServer? _server;
    private readonly object _stopGate = new();
    private Task? _stopping;
    private readonly Lock _leaderGate = new();
    private BackgroundJobServer? _leaderServer;
    private bool _stopped;
    private Task _retiring = Task.CompletedTask; // leader servers stopping in the background: Stop waits for them

    public Task StartAsync(CancellationToken cancellationToken)
    {
        catalog.Reconcile();
        if (!options.Value.ServerEnabled)
        {
            log.LogInformation("Job server disabled (Cdp:Scheduling:ServerEnabled=false); jobs are only stored");
            return Task.CompletedTask;
        }
        _server = machinery.StartServer(options.Value);
        if (lead.Shared)
        {
            // several hosts: the host running the profile processor also serves the leader queue, while it runs it
            lead.Changed += ServeLeaderQueue;
            ServeLeaderQueue(lead.Leads);
        }
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

    /// <summary>Starts serving the leader queue when this host takes the lead; stops (in the background) when it loses it.</summary>
    private void ServeLeaderQueue(bool leads)
    {
        BackgroundJobServer? retired = null;
        lock (_leaderGate)
        {
            if (_stopped) return;
            if (leads && _leaderServer is null)
            {
                _leaderServer = machinery.StartServer(options.Value, [SchedulingOptions.LeaderQueue], LeaderWorkers);
                log.LogInformation("This host runs the profile processor: it serves the queue {Queue} too", SchedulingOptions.LeaderQueue);
            }
            else if (!leads && _leaderServer is not null)
            {
                retired = _leaderServer;
                _leaderServer = null;
                log.LogInformation("This host no longer runs the profile processor: it stops serving the queue {Queue}", SchedulingOptions.LeaderQueue);
            }
        }
        // a running job there is cancelled and its fetch released, so the new leader takes it up again
        if (retired is not null)
            lock (_leaderGate)
            {
                var before = _retiring;
                _retiring = Task.Run(async () => { await before; await Retire(retired, CancellationToken.None); });
            }
    }

    private static async Task Retire(BackgroundJobServer server, CancellationToken cancellationToken)
    {
        server.SendStop();
        try { await server.WaitForShutdownAsync(cancellationToken); }
        catch (OperationCanceledException) { }
        server.Dispose();
    }

    private async Task Stop(CancellationToken cancellationToken)
    {
        BackgroundJobServer? leader;
        Task retiring;
        lock (_leaderGate)
        {
            _stopped = true;
            leader = _leaderServer;
            _leaderServer = null;
            retiring = _retiring;
        }
        lead.Changed -= ServeLeaderQueue;
        if (leader is not null) await Retire(leader, cancellationToken);
        try { await retiring.WaitAsync(cancellationToken); }
        catch (OperationCanceledException) { }
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
