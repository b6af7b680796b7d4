using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Shared.Storage;

/// <summary>How a module registers a store it keeps on either provider: the implementation follows Cdp:Storage:Provider.</summary>
internal static class StoreRegistration
{
    /// <summary>
    /// <typeparamref name="TStore"/> resolves to <typeparamref name="TLiteDb"/> or <typeparamref name="TPostgreSql"/> as
    /// Cdp:Storage:Provider says; only the chosen one is ever created (the other's database is never opened).
    /// </summary>
    public static IServiceCollection AddStore<TStore, TLiteDb, TPostgreSql>(this IServiceCollection services)
        where TStore : class where TLiteDb : class, TStore where TPostgreSql : class, TStore
    {
        services.AddSingleton<TLiteDb>();
        services.AddSingleton<TPostgreSql>();
        services.AddSingleton<TStore>(sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value.UsesPostgreSql
            ? sp.GetRequiredService<TPostgreSql>()
            : sp.GetRequiredService<TLiteDb>());
        return services;
    }
}
