using System.Text.RegularExpressions;
using Cdp.Modules.Scheduling.Contracts;
using FluentValidation;

namespace Cdp.Modules.Scheduling;

/// <summary>appsettings section <c>Cdp:Scheduling</c>.</summary>
internal sealed partial class SchedulingOptions
{
    public const string Section = "Cdp:Scheduling";

    /// <summary>The jobs file name used beside Cdp:Storage:Path when JobsPath is empty.</summary>
    public const string DefaultJobsFileName = "cdp-jobs.db";

    /// <summary>The jobs LiteDB file. Empty: cdp-jobs.db in the folder of Cdp:Storage:Path (./data/cdp-jobs.db by default).</summary>
    public string JobsPath { get; set; } = "";

    /// <summary>Run the job server in this process (the dashboard and the client work either way).</summary>
    public bool ServerEnabled { get; set; } = true;

    public int WorkerCount { get; set; } = 4;

    /// <summary>The queue served when Queues names none, and the one recurring jobs use unless they name theirs.</summary>
    public const string DefaultQueue = "default";

    /// <summary>
    /// With several hosts (Cdp:Storage:Hosts = Several): the queue of recurring jobs that run beside the profile processor
    /// (segment sweeps, matching runs), served only by the host that runs it. Reserved: settings may not name it.
    /// </summary>
    public const string LeaderQueue = "cdp-leader";

    /// <summary>
    /// Queues this server takes jobs from, in priority order; empty means <see cref="DefaultQueue"/>. Empty by default
    /// because the configuration binder appends to a list it finds filled: a default of ["default"] turned a configured
    /// ["critical", "default"] into default,critical,default. Read it through <see cref="ServedQueues"/>.
    /// </summary>
    public List<string> Queues { get; set; } = [];

    /// <summary>The queues as configured, in their order, or the default queue when none is configured.</summary>
    public IReadOnlyList<string> ServedQueues() => Queues.Count == 0 ? [DefaultQueue] : Queues;

    /// <summary>How often scheduled (delayed, retried) and recurring jobs are checked for being due.</summary>
    public TimeSpan SchedulePollInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>A fetched job's lease; kept alive while it runs, so only a crash lets it lapse (then the job runs again).</summary>
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often idle workers look for lapsed leases (new jobs wake them at once).</summary>
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan ExpirationCheckInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long succeeded and deleted jobs are kept for the dashboard.</summary>
    public TimeSpan JobExpiration { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long a stopping host waits for running jobs before it cancels them.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Recurring jobs by id; reconciled at start-up (added, updated, and removed when no longer listed).</summary>
    public Dictionary<string, RecurringJobSettings> RecurringJobs { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Registers the "diagnostics-sleep" job kind (for crash tests and smoke checks); off in production.</summary>
    public bool DiagnosticKinds { get; set; }

    [GeneratedRegex("^[a-z0-9_-]+$")]
    internal static partial Regex QueueName();
}

internal sealed class RecurringJobSettings
{
    /// <summary>The name of a registered IRecurringJobKind.</summary>
    public string Kind { get; set; } = "";

    /// <summary>Cron, 5 fields (minute precision) or 6 (with seconds first); checked by <see cref="CronSchedule"/>.</summary>
    public string Cron { get; set; } = "";

    /// <summary>IANA or Windows time zone id the Cron is read in.</summary>
    public string TimeZone { get; set; } = "UTC";

    public string Queue { get; set; } = SchedulingOptions.DefaultQueue;

    /// <summary>Passed to the kind as RecurringJobRun.Arguments.</summary>
    public Dictionary<string, string> Arguments { get; set; } = new(StringComparer.Ordinal);
}

internal sealed class SchedulingOptionsValidator : AbstractValidator<SchedulingOptions>
{
    public SchedulingOptionsValidator()
    {
        RuleFor(o => o.WorkerCount).InclusiveBetween(1, 200);
        RuleFor(o => o.Queues).Must(q => q.Distinct(StringComparer.Ordinal).Count() == q.Count)
            .WithMessage("names a queue twice: list each queue once, in priority order, e.g. [\"critical\", \"default\"]");
        RuleForEach(o => o.Queues).Must(q => SchedulingOptions.QueueName().IsMatch(q ?? ""))
            .WithMessage("queue names use lowercase letters, digits, '_' and '-' only");
        RuleForEach(o => o.Queues).Must(q => q != SchedulingOptions.LeaderQueue)
            .WithMessage($"'{SchedulingOptions.LeaderQueue}' is reserved: with several hosts the host running the profile processor serves it");
        RuleFor(o => o.SchedulePollInterval).GreaterThan(TimeSpan.Zero);
        RuleFor(o => o.InvisibilityTimeout).GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(250))
            .WithMessage("must be at least 00:00:00.250 (it is renewed every fifth of itself)");
        RuleFor(o => o.QueuePollInterval).GreaterThan(TimeSpan.Zero);
        RuleFor(o => o.ExpirationCheckInterval).GreaterThan(TimeSpan.Zero);
        RuleFor(o => o.JobExpiration).GreaterThanOrEqualTo(TimeSpan.Zero);
        RuleFor(o => o.ShutdownTimeout).GreaterThanOrEqualTo(TimeSpan.Zero);
        // One failure per bad field, named by its full key (RecurringJobs:<id>:Cron), not by a list index.
        RuleFor(o => o.RecurringJobs).Custom((jobs, context) =>
        {
            foreach (var (id, job) in jobs)
            {
                var at = $"RecurringJobs:{id}:";
                if (!SchedulingOptions.QueueName().IsMatch(id)) context.AddFailure("RecurringJobs:" + id, "recurring job ids use lowercase letters, digits, '_' and '-' only");
                if (string.IsNullOrWhiteSpace(job.Kind)) context.AddFailure(at + "Kind", "must name a job kind, e.g. \"litedb-checkpoint\"");
                if (CronSchedule.Problem(job.Cron) is { } cron) context.AddFailure(at + "Cron", cron);
                if (!TimeZoneInfo.TryFindSystemTimeZoneById(job.TimeZone ?? "", out _))
                    context.AddFailure(at + "TimeZone", "must be a known time zone id, e.g. \"UTC\" or \"Europe/Paris\"");
                if (!SchedulingOptions.QueueName().IsMatch(job.Queue ?? "")) context.AddFailure(at + "Queue", "queue names use lowercase letters, digits, '_' and '-' only");
                if (job.Queue == SchedulingOptions.LeaderQueue)
                    context.AddFailure(at + "Queue", $"'{SchedulingOptions.LeaderQueue}' is reserved: jobs that run beside the profile processor are queued there by themselves");
            }
        });
    }
}
