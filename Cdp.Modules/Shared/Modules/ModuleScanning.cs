using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Shared.Modules;

public static class ModuleScanning
{
    /// <summary>
    /// Registers every concrete class of <paramref name="moduleNamespace"/> (and below) that carries
    /// <see cref="ServiceAttribute"/>, as itself and as its interfaces, with the lifetime the attribute names.
    /// Scrutor 7 needs publicOnly: false to see internal types.
    /// </summary>
    public static IServiceCollection AddModuleServices(this IServiceCollection services, Type marker)
    {
        var ns = marker.Namespace ?? throw new InvalidOperationException("module without namespace");
        foreach (var lifetime in new[] { ServiceLifetime.Singleton, ServiceLifetime.Scoped, ServiceLifetime.Transient })
        {
            services.Scan(scan => scan
                .FromAssemblies(marker.Assembly)
                .AddClasses(c => c.InNamespaces(ns)
                    .Where(t => t.GetCustomAttributes(typeof(ServiceAttribute), false)
                        .Cast<ServiceAttribute>().Any(a => a.Lifetime == lifetime)), publicOnly: false)
                .AsSelfWithInterfaces(i => i != typeof(IDisposable) && i != typeof(IAsyncDisposable))
                .WithLifetime(lifetime));
        }
        return services;
    }
}

/// <summary>Marks a class for registration by <see cref="ModuleScanning.AddModuleServices"/>.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ServiceAttribute(ServiceLifetime lifetime = ServiceLifetime.Singleton) : Attribute
{
    public ServiceLifetime Lifetime { get; } = lifetime;
}
