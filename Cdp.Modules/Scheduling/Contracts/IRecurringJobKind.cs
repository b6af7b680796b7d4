namespace Cdp.Modules.Scheduling.Contracts;

/// <summary>
/// A kind of recurring job that appsettings can schedule by its <see cref="Name"/>:
/// <c>Cdp:Scheduling:RecurringJobs:&lt;id&gt; = { "Kind": "&lt;Name&gt;", "Cron": "...", "TimeZone": "UTC", "Arguments": { ... } }</c>.
/// A module registers a kind by putting a class that implements this interface into DI (e.g. <c>[Service]</c>);
/// the Scheduling module finds every registered kind and refuses to start when a configured Kind is unknown.
/// A run may be repeated after a crash (at least once), so a kind must be idempotent.
/// </summary>
public interface IRecurringJobKind
{
    /// <summary>The name appsettings use, lowercase with dashes, e.g. "segment-sweep". Unique among kinds.</summary>
    string Name { get; }

    /// <summary>
    /// The kind changes what the profile processor keeps in memory, or sends it commands (segment sweeps, matching runs):
    /// with several hosts on one database (Cdp:Storage:Hosts = Several) its runs go to the leader queue, which only the
    /// host running the processor serves, whatever queue its settings name.
    /// </summary>
    bool RunsBesideProcessor => false;

    Task RunAsync(RecurringJobRun run, CancellationToken cancellationToken);
}

/// <summary>One run of a recurring job: its configured id, the background job id of this run, and the configured Arguments.</summary>
public sealed record RecurringJobRun(string RecurringJobId, string JobId, IReadOnlyDictionary<string, string> Arguments);
