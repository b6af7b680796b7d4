using FluentValidation;

namespace Cdp.Modules.Governance.Access;

/// <summary>appsettings section <c>Cdp:Admin</c>.</summary>
internal sealed class AdminOptions
{
    public const string Section = "Cdp:Admin";

    /// <summary>Keyed by a name that the audit log shows (who did it), e.g. "ops".</summary>
    public Dictionary<string, AdminApiKey> ApiKeys { get; set; } = new(StringComparer.Ordinal);
}

internal sealed class AdminApiKey
{
    public string Key { get; set; } = "";

    public AdminRole Role { get; set; } = AdminRole.Admin;
}

internal enum AdminRole
{
    Admin,
    Analyst,
}

internal sealed class AdminOptionsValidator : AbstractValidator<AdminOptions>
{
    /// <summary>Shorter keys are guessable; 16 characters of random text is the floor.</summary>
    public const int MinimumKeyLength = 16;

    public AdminOptionsValidator()
    {
        RuleForEach(o => o.ApiKeys).ChildRules(k =>
        {
            k.RuleFor(e => e.Value.Key).NotEmpty().MinimumLength(MinimumKeyLength)
                .OverridePropertyName("Key")
                .WithMessage($"must be at least {MinimumKeyLength} characters of random text");
        }).OverridePropertyName("ApiKeys");
        RuleFor(o => o.ApiKeys).Must(keys => keys.Values.Select(v => v.Key).Distinct(StringComparer.Ordinal).Count() == keys.Count)
            .WithMessage("two API keys have the same Key value");
    }
}
