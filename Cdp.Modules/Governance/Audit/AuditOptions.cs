using Cdp.Modules.Scheduling.Contracts;
using FluentValidation;

namespace Cdp.Modules.Governance.Audit;

/// <summary>appsettings section <c>Cdp:Governance</c> (the audit log's part of it).</summary>
internal sealed class AuditOptions
{
    public const string Section = "Cdp:Governance";

    /// <summary>Audit records older than this many days are pruned (at start and on <see cref="AuditRetentionSchedule"/>).</summary>
    public int AuditRetentionDays { get; set; } = 365;

    /// <summary>
    /// Cron (UTC) of the recurring job "audit-retention" that prunes the audit log. Retention is counted in days: pruning a
    /// few times a day keeps the log within a few hours of it.
    /// </summary>
    public string AuditRetentionSchedule { get; set; } = "17 */6 * * *";

    /// <summary>
    /// Cron (UTC) of the recurring job "tracking-plan-digest" that writes one audit record summing the tracking plan
    /// violations of the 24 hours before it; empty (the default) = no digest.
    /// </summary>
    public string TrackingPlanDigestSchedule { get; set; } = "";

    /// <summary>
    /// The audit log's size bound: past this many records the oldest go first (whatever their age). A record takes about
    /// 300 bytes, at most about 2 KB (paths and queries are cut at 512 characters): 1,000,000 records stay under ~2 GB.
    /// </summary>
    public int AuditMaxRecords { get; set; } = 1_000_000;

    /// <summary>
    /// Requests without a valid key recorded one by one per minute, all senders together; the rest are counted in /metrics
    /// and summed up in one summary record a minute. 60 records a minute is ~86,000 a day, a few tens of MB.
    /// </summary>
    public int UnauthenticatedRecordsPerMinute { get; set; } = 60;
}

internal sealed class AuditOptionsValidator : AbstractValidator<AuditOptions>
{
    /// <summary>Ten years: beyond that a retention setting is a typo.</summary>
    public const int MaxRetentionDays = 3650;

    /// <summary>Below this an afternoon of admin work would push out the morning's records.</summary>
    public const int MinRecords = 1_000;

    /// <summary>~200 GB of audit at the worst record size: beyond that a size bound is a typo.</summary>
    public const int MaxRecords = 100_000_000;

    /// <summary>~14 million records a day: beyond that the bound no longer protects the disk.</summary>
    public const int MaxUnauthenticatedPerMinute = 10_000;

    public AuditOptionsValidator()
    {
        RuleFor(o => o.AuditRetentionDays).InclusiveBetween(1, MaxRetentionDays)
            .WithMessage($"must be between 1 and {MaxRetentionDays} days");
        RuleFor(o => o.AuditRetentionSchedule).MustBeCron();
        RuleFor(o => o.TrackingPlanDigestSchedule).MustBeCron().When(o => !string.IsNullOrWhiteSpace(o.TrackingPlanDigestSchedule));
        RuleFor(o => o.AuditMaxRecords).InclusiveBetween(MinRecords, MaxRecords)
            .WithMessage($"must be between {MinRecords} and {MaxRecords} records");
        RuleFor(o => o.UnauthenticatedRecordsPerMinute).InclusiveBetween(0, MaxUnauthenticatedPerMinute)
            .WithMessage($"must be between 0 (none recorded one by one, all summed up) and {MaxUnauthenticatedPerMinute}");
    }
}
