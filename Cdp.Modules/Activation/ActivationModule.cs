using Cdp.Modules.Activation.Api;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Activation;

/// <summary>
/// Destinations (Cdp:Destinations: Mailchimp, Brevo, SendGrid, webhook, CSV/SFTP) and syncs (Cdp:Syncs): a recurring job per
/// sync, the sync engine with member state, dry runs and run history, and the admin API under /api/activation.
/// </summary>
public sealed class ActivationModule : ICdpModule
{
    public string Name => "Activation";

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<ActivationOptions, ActivationOptionsValidator>(configuration, ActivationOptions.Section);
        services.AddModuleServices(typeof(ActivationModule));
        services.AddStore<Engine.IActivationStore, Engine.LiteDb.LiteActivationStore, Engine.PostgreSql.PostgresActivationStore>();
        services.AddSingleton<Shared.Storage.PostgreSql.IPostgresSchema, Engine.PostgreSql.ActivationPostgresSchema>();
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints) => ActivationEndpoints.Map(endpoints);
}
