using Cdp.Modules.Identity.Api;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Identity;

/// <summary>
/// Identifier normalisation, the deterministic identity graph, merge records, unmerge and rule dry runs. Probabilistic
/// matching is its own module (Matching) above it; the graph applies and replays the links Matching decides (ProfileLink).
/// </summary>
public sealed class IdentityModule : ICdpModule
{
    public string Name => "Identity";

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<IdentityOptions, IdentityOptionsValidator>(configuration, IdentityOptions.Section);
        services.AddModuleServices(typeof(IdentityModule));
        services.AddStore<Graph.IIdentityStore, Graph.LiteDb.LiteIdentityStore, Graph.PostgreSql.PostgresIdentityStore>();
        services.AddSingleton<Shared.Storage.PostgreSql.IPostgresSchema, Graph.PostgreSql.IdentityPostgresSchema>();
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/identity").WithTags("Identity").RequireReader();
        IdentityEndpoints.Map(group);
    }
}
