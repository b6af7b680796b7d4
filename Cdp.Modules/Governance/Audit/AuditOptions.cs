using FluentValidation;

namespace Cdp.Modules.Governance.Audit;

/// <summary>appsettings section <c>Cdp:Governance</c> (the audit log's part of it).</summary>
internal sealed class AuditOptions
{
    public const string Section = "Cdp:Governance";

    /// <summary>Audit records older than this many days are pruned (at start and every few hours).</summary>
    public int AuditRetentionDays { get; set; } = 365;
}

internal sealed class AuditOptionsValidator : AbstractValidator<AuditOptions>
{
    /// <summary>Ten years: beyond that a retention setting is a typo.</summary>
    public const int MaxRetentionDays = 3650;

    public AuditOptionsValidator()
    {
        RuleFor(o => o.AuditRetentionDays).InclusiveBetween(1, MaxRetentionDays)
            .WithMessage($"must be between 1 and {MaxRetentionDays} days");
    }
}
