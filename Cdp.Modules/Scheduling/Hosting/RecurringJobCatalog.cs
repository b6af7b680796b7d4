using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Modules;
using Hangfire;
using Hangfire.Common;
using Hangfire.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Scheduling.Hosting;

/// <summary>
/// The recurring jobs of appsettings (Cdp:Scheduling:RecurringJobs) and the registered job kinds.
/// appsettings own the recurring jobs: at start-up each configured one is added or updated, and every other
/// recurring job in the jobs file is removed.
/// </summary>
[Service]
internal sealed class RecurringJobCatalog(
    JobMachinery machinery,
    IEnumerable<IRecurringJobKind> kinds,
    IOptions<SchedulingOptions> options,
    ILogger<RecurringJobCatalog> log)
{
    private readonly Dictionary<string, IRecurringJobKind> _kinds = Index(kinds);

    public IRecurringJobKind? Kind(string name) => _kinds.GetValueOrDefault(name);

    public IReadOnlyCollection<string> KindNames => _kinds.Keys;

    public RecurringJobSettings? Settings(string recurringJobId) => options.Value.RecurringJobs.GetValueOrDefault(recurringJobId);

    public void Reconcile()
    {
        var configured = options.Value.RecurringJobs;
        foreach (var (id, settings) in configured)
        {
            var at = $"{SchedulingOptions.Section}:RecurringJobs:{id}";
            if (!_kinds.ContainsKey(settings.Kind))
                throw new InvalidSettingsException($"{at}:Kind: unknown job kind '{settings.Kind}'. Known kinds: {string.Join(", ", _kinds.Keys.Order())}");
            var job = new Job(typeof(RecurringJobRunner), typeof(RecurringJobRunner).GetMethod(nameof(RecurringJobRunner.RunAsync))!,
                [settings.Kind, id, null, CancellationToken.None], settings.Queue);
            try
            {
                machinery.RecurringJobs.AddOrUpdate(id, job, settings.Cron,
                    new RecurringJobOptions { TimeZone = TimeZoneInfo.FindSystemTimeZoneById(settings.TimeZone) });
            }
            catch (ArgumentException ex)
            {
                throw new InvalidSettingsException($"{at}:Cron: '{settings.Cron}' is not a valid cron expression ({ex.Message})");
            }
        }

        using var connection = machinery.Storage.GetConnection();
        foreach (var stale in connection.GetRecurringJobs().Select(r => r.Id).Where(id => !configured.ContainsKey(id)).ToList())
        {
            machinery.RecurringJobs.RemoveIfExists(stale);
            log.LogInformation("Removed recurring job {RecurringJobId}: no longer in {Section}:RecurringJobs", stale, SchedulingOptions.Section);
        }
        log.LogInformation("Recurring jobs reconciled: {Count} configured", configured.Count);
    }

    public List<RecurringJobDto> List()
    {
        using var connection = machinery.Storage.GetConnection();
        return connection.GetRecurringJobs();
    }

    private static Dictionary<string, IRecurringJobKind> Index(IEnumerable<IRecurringJobKind> kinds)
    {
        var index = new Dictionary<string, IRecurringJobKind>(StringComparer.Ordinal);
        foreach (var kind in kinds)
            if (!index.TryAdd(kind.Name, kind))
                throw new InvalidOperationException($"Two recurring job kinds are named '{kind.Name}': {index[kind.Name].GetType().Name} and {kind.GetType().Name}.");
        return index;
    }
}
