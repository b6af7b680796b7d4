using Cdp.Modules.Shared.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Shared.Storage.PostgreSql;

/// <summary>
/// The PostgreSQL provider's shared services. Registered always, created only when asked for: with Cdp:Storage:Provider =
/// LiteDb nothing here opens a connection.
/// </summary>
public static class PostgresStorage
{
    internal static IServiceCollection AddPostgresStorage(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            if (!options.UsesPostgreSql)
                throw new InvalidOperationException($"the PostgreSQL database was asked for while {StorageOptions.Section}:Provider is {options.Provider}");
            return new PostgresDatabase(options.ConnectionString!);
        });
        services.AddSingleton(sp => new PostgresInstanceLock(sp.GetRequiredService<PostgresDatabase>(),
            shared: sp.GetRequiredService<IOptions<StorageOptions>>().Value.SeveralHosts && sp.GetService<ServerRole>() is not null));
        services.AddSingleton<SchemaMigrator>();
        services.AddStore<IChangeFeed, NoChangeFeed, PostgresChangeFeed>();
        services.AddSingleton<ISchemaMigrations>(sp => sp.GetRequiredService<SchemaMigrator>());
        return services;
    }

    /// <summary>
    /// In this version the server and the verbs that open the database run on LiteDB only: with Provider = PostgreSql they
    /// stop here (exit 2) instead of quietly using the LiteDB file. <paramref name="what"/> names what refuses ("the server").
    /// </summary>
    public static void RefuseUnlessLiteDb(IConfiguration configuration, string what)
    {
        if (!StorageProviders.IsPostgreSql(configuration[ProviderKey])) return;
        throw new InvalidSettingsException($"{ProviderKey} is {StorageProviders.PostgreSql}, but this version of Cdp runs {what} on " +
            $"{StorageProviders.LiteDb} only: PostgreSQL is a preview (its schema is created and upgraded with `Cdp.Host migrate`). " +
            $"Set {ProviderKey} to {StorageProviders.LiteDb} (the default) to run {what}.");
    }

    public const string ProviderKey = StorageOptions.Section + ":Provider";

    /// <summary>Registered by the server (not by the CLI verbs): with Cdp:Storage:Hosts = Several it shares the database.</summary>
    public sealed class ServerRole;

    /// <summary>
    /// Before anything reads or writes PostgreSQL: this process becomes the one Cdp on the database
    /// (<see cref="PostgresInstanceLock"/>, DatabaseInUseException otherwise) and the schema is created or upgraded.
    /// Returns the migrations applied.
    /// </summary>
    public static IReadOnlyList<SchemaMigration> Open(IServiceProvider services)
    {
        services.GetRequiredService<PostgresInstanceLock>();
        return services.GetRequiredService<ISchemaMigrations>().Apply();
    }
}
