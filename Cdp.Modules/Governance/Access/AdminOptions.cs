using FluentValidation;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance.Access;

/// <summary>
/// appsettings section <c>Cdp:Admin</c>. Keys usually come from the environment:
/// <c>Cdp__Admin__ApiKeys__ops__Key=...</c>, <c>Cdp__Admin__ApiKeys__ops__Role=Admin</c>.
/// </summary>
internal sealed class AdminOptions
{
    public const string Section = "Cdp:Admin";

    /// <summary>The sample key shipped in appsettings.Development.json: refused in every other environment.</summary>
    public const string SampleKey = "dev-admin-key-change-me";

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
    /// <summary>Shorter keys are guessable; 16 characters of random text is the floor (Development).</summary>
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

/// <summary>
/// Outside the Development environment the host refuses to start with a weak admin key: empty, shorter than
/// <see cref="MinimumKeyLength"/> or the shipped sample key (Program prints the failures and exits with 2).
/// </summary>
internal sealed class ProductionAdminKeyRules(IHostEnvironment environment) : IValidateOptions<AdminOptions>
{
    /// <summary>24 characters of random text (e.g. openssl rand -base64 18) is out of reach of guessing.</summary>
    public const int MinimumKeyLength = 24;

    public ValidateOptionsResult Validate(string? name, AdminOptions options)
    {
        if (environment.IsDevelopment()) return ValidateOptionsResult.Success;
        var failures = new List<string>();
        foreach (var (keyName, key) in options.ApiKeys)
        {
            var setting = $"{AdminOptions.Section}:ApiKeys:{keyName}:Key";
            if (string.Equals(key.Key, AdminOptions.SampleKey, StringComparison.Ordinal))
                failures.Add($"{setting}: is the sample key from appsettings.Development.json; outside Development set your own, e.g. Cdp__Admin__ApiKeys__{keyName}__Key=$(openssl rand -base64 24)");
            else if (string.IsNullOrWhiteSpace(key.Key) || key.Key.Length < MinimumKeyLength)
                failures.Add($"{setting}: must be at least {MinimumKeyLength} characters of random text outside the Development environment (environment: {environment.EnvironmentName})");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
