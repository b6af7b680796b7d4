using Cdp.Modules.Shared.Modules;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Identity;

/// <summary>Not built yet: see the open issues. Registered so the module map is complete from the start.</summary>
public sealed class IdentityModule : ICdpModule
{
    public string Name => "Identity";

    public void AddServices(IServiceCollection services, IConfiguration configuration) =>
        services.AddModuleServices(typeof(IdentityModule));

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
    }
}
