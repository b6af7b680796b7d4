using System.Reflection;
using Cdp.Modules.Scheduling.Contracts;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Scheduling.Hosting;

/// <summary>
/// The names of the registered job kinds, read from the service registrations (each kind's <c>KindName</c> constant) without
/// creating a kind: kinds need the database, and <c>check-config</c> must not open it (a running server holds it).
/// </summary>
internal sealed class KnownJobKinds(IServiceCollection registrations)
{
    private IReadOnlySet<string>? _names;

    public IReadOnlySet<string> Names => _names ??= Read(registrations);

    private static HashSet<string> Read(IServiceCollection registrations)
    {
        var types = registrations
            .Select(d => d.ServiceType == typeof(IRecurringJobKind) ? d.ImplementationType ?? d.ImplementationInstance?.GetType() : d.ServiceType)
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IRecurringJobKind).IsAssignableFrom(t))
            .Distinct();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            var field = type!.GetField("KindName", BindingFlags.Public | BindingFlags.Static);
            if (field?.GetRawConstantValue() is not string name)
                throw new InvalidOperationException($"{type.Name} is a recurring job kind without a public const string KindName (its Name): check-config reads it.");
            names.Add(name);
        }
        return names;
    }

    /// <summary>The failure for a kind no module registers, as check-config and the job server's start print it.</summary>
    public static string Unknown(string kind, IEnumerable<string> known) =>
        $"unknown job kind '{kind}'. Known kinds: {string.Join(", ", known.Order(StringComparer.Ordinal))}";
}

/// <summary>Cdp:Scheduling:RecurringJobs:&lt;id&gt;:Kind must name a registered kind: checked with the other settings (check-config, start).</summary>
internal sealed class RecurringJobKindsValidator(KnownJobKinds kinds) : IValidateOptions<SchedulingOptions>
{
    public ValidateOptionsResult Validate(string? name, SchedulingOptions options)
    {
        var failures = options.RecurringJobs
            .Where(j => !string.IsNullOrWhiteSpace(j.Value.Kind) && !kinds.Names.Contains(j.Value.Kind))
            .Select(j => $"{SchedulingOptions.Section}:RecurringJobs:{j.Key}:Kind: {KnownJobKinds.Unknown(j.Value.Kind, kinds.Names)}")
            .ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
