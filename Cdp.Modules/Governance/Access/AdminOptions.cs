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
        RuleFor(o => o.ApiKeys).Custom((keys, ctx) =>
        {
            foreach (var (name, key) in keys)
            {
                if (string.IsNullOrWhiteSpace(key.Key) || key.Key.Length < MinimumKeyLength)
                    ctx.AddFailure($"ApiKeys:{name}:Key", $"must be at least {MinimumKeyLength} characters of random text");
            }
            foreach (var dup in keys.GroupBy(k => k.Value.Key, StringComparer.Ordinal).Where(g => g.Count() > 1))
                ctx.AddFailure($"ApiKeys:{dup.Last().Key}:Key", $"the same Key is used by {string.Join(" and ", dup.Select(d => d.Key))}");
        });
    }
}
