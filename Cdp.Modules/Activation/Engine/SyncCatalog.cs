using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Activation.Engine;

/// <summary>Gives Scheduling one recurring job per enabled sync ("sync-&lt;name&gt;", kind "activation-sync"), with the sync's cron and time zone.</summary>
[Service]
internal sealed class SyncCatalog(IOptions<ActivationOptions> options) : IRecurringJobSource
{
    public const string JobPrefix = "sync-";

    public static string JobId(string sync) => JobPrefix + sync;

    public IReadOnlyList<RecurringJobDefinition> RecurringJobs() => options.Value.Syncs
        .Where(s => s.Value.Enabled)
        .Select(s => new RecurringJobDefinition(JobId(s.Key), SyncJobKind.KindName, s.Value.Cron, s.Value.TimeZone,
            new Dictionary<string, string> { ["Sync"] = s.Key }, $"{SyncSettings.Section}:{s.Key}"))
        .ToList();
}

/// <summary>
/// "activation-sync": one scheduled run of a sync. It never throws for a failed run (the run history says what failed):
/// retries happen inside the run, so Hangfire never runs the sync again on its own; an overlapping occurrence is skipped.
/// </summary>
[Service]
internal sealed class SyncJobKind(SyncEngine engine, Microsoft.Extensions.Logging.ILogger<SyncJobKind> log) : IRecurringJobKind
{
    public const string KindName = "activation-sync";

    public string Name => KindName;

    public async Task RunAsync(RecurringJobRun run, CancellationToken cancellationToken)
    {
        var sync = run.Arguments.GetValueOrDefault("Sync") ?? "";
        try
        {
            await engine.RunAsync(sync, new Contracts.SyncRunRequest("schedule"), cancellationToken);
        }
        catch (Contracts.SyncBusyException)
        {
            Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(log, "Sync {Sync}: skipped this occurrence, the previous run is still going", sync);
        }
        catch (KeyNotFoundException)
        {
            Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(log, "Sync {Sync} is no longer configured", sync);
        }
    }
}
