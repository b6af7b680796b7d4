using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Scheduling.Storage;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Logging;

namespace Cdp.Modules.Scheduling.Kinds;

/// <summary>
/// "litedb-checkpoint": moves LiteDB's -log.db files (cdp.db and the jobs file) into their data files,
/// which bounds their growth between LiteDB's own size-triggered checkpoints.
/// </summary>
[Service]
internal sealed class CheckpointJobKind(CdpDatabase database, LiteDbJobStorage jobs, ILogger<CheckpointJobKind> log) : IRecurringJobKind
{
    public const string KindName = "litedb-checkpoint";

    public string Name => KindName;

    public Task RunAsync(RecurringJobRun run, CancellationToken cancellationToken)
    {
        database.Checkpoint();
        cancellationToken.ThrowIfCancellationRequested();
        jobs.Checkpoint();
        log.LogInformation("LiteDB checkpoint done for {Database} and {Jobs}", database.FilePath, jobs.FilePath);
        return Task.CompletedTask;
    }
}
