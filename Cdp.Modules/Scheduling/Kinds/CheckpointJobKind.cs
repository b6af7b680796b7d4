using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Scheduling.Storage;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Scheduling.Kinds;

/// <summary>
/// "litedb-checkpoint": moves LiteDB's -log.db files (cdp.db and the jobs file) into their data files,
/// which bounds their growth between LiteDB's own size-triggered checkpoints. On PostgreSQL there is no such file: the
/// job says so and does nothing (PostgreSQL checkpoints its own write-ahead log).
/// </summary>
[Service]
internal sealed class CheckpointJobKind(IServiceProvider services, IOptions<StorageOptions> storage, ILogger<CheckpointJobKind> log) : IRecurringJobKind
{
    public const string KindName = "litedb-checkpoint";

    public string Name => KindName;

    public Task RunAsync(RecurringJobRun run, CancellationToken cancellationToken)
    {
        if (storage.Value.UsesPostgreSql)
        {
            log.LogInformation("{Kind}: Cdp:Storage:Provider is PostgreSql, which has no LiteDB files to checkpoint", KindName);
            return Task.CompletedTask;
        }
        var database = services.GetRequiredService<CdpDatabase>();
        var jobs = services.GetRequiredService<LiteDbJobStorage>();
        database.Checkpoint();
        cancellationToken.ThrowIfCancellationRequested();
        jobs.Checkpoint();
        log.LogInformation("LiteDB checkpoint done for {Database} and {Jobs}", database.FilePath, jobs.FilePath);
        return Task.CompletedTask;
    }
}
