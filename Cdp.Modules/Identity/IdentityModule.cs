using Cdp.Modules.Identity.Api;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Identity;

/// <summary>Identifier normalisation, the deterministic identity graph, merge records, unmerge and rule dry runs.</summary>
public sealed class IdentityModule : ICdpModule
{
    public string Name => "Identity";

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<IdentityOptions, IdentityOptionsValidator>(configuration, IdentityOptions.Section);
        services.AddModuleServices(typeof(IdentityModule));
        Matching.MatchingRegistration.Add(services, configuration);
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/identity").WithTags("Identity").RequireReader();
        IdentityEndpoints.Map(group);
        ProfileMatching.MatchingEndpoints.Map(group);
    }
}
