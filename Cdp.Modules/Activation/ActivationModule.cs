using Cdp.Modules.Shared.Modules;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Activation;

/// <summary>Not built yet: see the open issues. Registered so the module map is complete from the start.</summary>
public sealed class ActivationModule : ICdpModule
{
    public string Name => "Activation";

    public void AddServices(IServiceCollection services, IConfiguration configuration) =>
        services.AddModuleServices(typeof(ActivationModule));

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
    }
}
