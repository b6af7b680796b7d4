using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Cdp.Modules.Shared;

public static class SharedServices
{
    /// <summary>The LiteDB handle and the clock, used by every module.</summary>
    public static IServiceCollection AddCdpShared(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<StorageOptions, StorageOptionsValidator>(configuration, StorageOptions.Section);
        services.AddSingleton<StorageHealth>();
        services.AddSingleton<FreeSpace>();
        services.AddSingleton<IMetricsSource, StorageMetrics>();
        services.AddCdpMetrics();
        services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage", tags: ["ready"]);
        services.AddSingleton<CdpDatabase>();
        services.AddSingleton<HostLead>();
        services.AddSingleton<IUnitOfWorkFactory, ProviderTransactions>();
        services.AddPostgresStorage(); // Cdp:Storage:Provider = PostgreSql (a preview): the database and its schema migrations
        if (!StorageProviders.IsPostgreSql(configuration[StorageOptions.Section + ":Provider"]))
        {
            // LiteDB's engine can close itself: the watchdog stops the host then (PostgreSQL's failures are per connection)
            services.AddSingleton<StorageWatchdog>();
            services.AddHostedService(sp => sp.GetRequiredService<StorageWatchdog>());
        }
        services.TryAddSingleton(TimeProvider.System);
        services.AddHostedService<SettingsWarningsLog>(); // the modules' ISettingsWarnings, logged once at start
        return services;
    }
}
