using FluentValidation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Shared.Configuration;

/// <summary>
/// Binds an appsettings section to <typeparamref name="TOptions"/>, validates it with a FluentValidation
/// validator at start-up, and fails the start with messages that name each bad setting by its full key.
/// </summary>
public static class SettingsValidation
{
    public static OptionsBuilder<TOptions> AddValidatedSettings<TOptions, TValidator>(
        this IServiceCollection services, IConfiguration configuration, string section)
        where TOptions : class, new()
        where TValidator : AbstractValidator<TOptions>, new()
    {
        services.AddSingleton<IValidateOptions<TOptions>>(new FluentOptionsValidator<TOptions>(new TValidator(), section));
        services.AddSingleton<IWatchedSettings>(new WatchedSettings<TOptions>(section, new TValidator()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SettingsChangeWatcher>());
        return services.AddOptions<TOptions>()
            .Bind(configuration.GetSection(section), b => b.ErrorOnUnknownConfiguration = false)
            .ValidateOnStart();
    }

    private sealed class FluentOptionsValidator<TOptions>(IValidator<TOptions> validator, string section) : IValidateOptions<TOptions>
        where TOptions : class
    {
        public ValidateOptionsResult Validate(string? name, TOptions options)
        {
            var result = validator.Validate(options);
            return result.IsValid ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(Failures(result, section));
        }
    }

    /// <summary>Each failure as "full:appsettings:key: message" (property names use ':' so "Sources:web:WriteKey" reads as the key).</summary>
    internal static IEnumerable<string> Failures(FluentValidation.Results.ValidationResult result, string section) =>
        result.Errors.Select(e => $"{section}:{e.PropertyName.Replace('.', ':').Replace("[", ":").Replace("]", "")}: {e.ErrorMessage}");
}

/// <summary>Thrown (and printed) when appsettings are invalid: the host refuses to start.</summary>
public sealed class InvalidSettingsException(string message) : Exception(message);
