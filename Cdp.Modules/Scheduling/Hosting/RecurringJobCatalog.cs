using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
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
    IEnumerable<IRecurringJobSource> sources,
    IOptions<SchedulingOptions> options,
    HostLead lead,
    ILogger<RecurringJobCatalog> log) : IRecurringJobSchedule
{
    private readonly Dictionary<string, IRecurringJobKind> _kinds = Index(kinds);
    private Dictionary<string, (RecurringJobSettings Settings, string At)>? _all;

    public IRecurringJobKind? Kind(string name) => _kinds.GetValueOrDefault(name);

    public IReadOnlyCollection<string> KindNames => _kinds.Keys;

    public RecurringJobSettings? Settings(string recurringJobId) => All().GetValueOrDefault(recurringJobId).Settings;

    /// <summary>appsettings' recurring jobs and those the modules contribute (IRecurringJobSource), by id, with the key each came from.</summary>
    private Dictionary<string, (RecurringJobSettings Settings, string At)> All()
    {
        if (_all is not null) return _all;
        var all = options.Value.RecurringJobs.ToDictionary(p => p.Key, p => (p.Value, $"{SchedulingOptions.Section}:RecurringJobs:{p.Key}"), StringComparer.Ordinal);
        foreach (var definition in sources.SelectMany(s => s.RecurringJobs()))
        {
            if (all.TryGetValue(definition.Id, out var clash))
                throw Invalid($"{definition.SettingsKey}: its recurring job id '{definition.Id}' is also used by {clash.Item2}");
            if (!TimeZoneInfo.TryFindSystemTimeZoneById(definition.TimeZone, out _))
                throw Invalid($"{definition.SettingsKey}:TimeZone: '{definition.TimeZone}' is not a known time zone id (e.g. \"UTC\" or \"Europe/Paris\")");
            all[definition.Id] = (new RecurringJobSettings
            {
                Kind = definition.Kind,
                Cron = definition.Cron,
                TimeZone = definition.TimeZone,
                Queue = definition.Queue,
                Arguments = new Dictionary<string, string>(definition.Arguments, StringComparer.Ordinal),
            }, definition.SettingsKey);
        }
        return _all = all;
    }

    public RecurringJobStatus? Find(string recurringJobId)
    {
        var dto = List().FirstOrDefault(r => r.Id == recurringJobId);
        return dto is null ? null : new RecurringJobStatus(dto.Id, dto.Cron, dto.TimeZoneId, dto.NextExecution, dto.LastExecution, dto.LastJobId, dto.LastJobState, dto.Error);
    }

    public void Reconcile()
    {
        var configured = All();
        foreach (var (id, (settings, at)) in configured)
        {
            // the settings validators (check-config and the start) said the same of appsettings' own jobs; this also covers the modules' jobs
            if (!_kinds.ContainsKey(settings.Kind)) throw Invalid($"{at}:Kind: {KnownJobKinds.Unknown(settings.Kind, _kinds.Keys)}");
            if (CronSchedule.Problem(settings.Cron) is { } cron) throw Invalid($"{at}:Cron: {cron}");
            // several hosts: a kind that runs beside the processor is queued for the host that runs it
            var queue = lead.Shared && _kinds[settings.Kind].RunsBesideProcessor ? SchedulingOptions.LeaderQueue : settings.Queue;
            var job = new Job(typeof(RecurringJobRunner), typeof(RecurringJobRunner).GetMethod(nameof(RecurringJobRunner.RunAsync))!,
                [settings.Kind, id, null, CancellationToken.None], queue);
            try
            {
                machinery.RecurringJobs.AddOrUpdate(id, job, settings.Cron,
                    new RecurringJobOptions { TimeZone = TimeZoneInfo.FindSystemTimeZoneById(settings.TimeZone) });
            }
            catch (ArgumentException ex)
            {
                throw Invalid($"{at}:Cron: '{settings.Cron}' is not a valid cron expression ({ex.Message.Split('\n')[0].Trim()})"); // not reached: CronSchedule applies Hangfire's own parser rules first
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

    /// <summary>The host prints these as bad settings and exits with code 2, like every other settings failure.</summary>
    private static OptionsValidationException Invalid(string failure) =>
        new(SchedulingOptions.Section, typeof(SchedulingOptions), [failure]);

    private static Dictionary<string, IRecurringJobKind> Index(IEnumerable<IRecurringJobKind> kinds)
    {
        var index = new Dictionary<string, IRecurringJobKind>(StringComparer.Ordinal);
        foreach (var kind in kinds)
            if (!index.TryAdd(kind.Name, kind))
                throw new InvalidOperationException($"Two recurring job kinds are named '{kind.Name}': {index[kind.Name].GetType().Name} and {kind.GetType().Name}.");
        return index;
    }
}
