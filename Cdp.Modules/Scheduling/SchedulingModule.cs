using Cdp.Modules.Shared.Modules;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Scheduling;

/// <summary>Not built yet: see the open issues. Registered so the module map is complete from the start.</summary>
public sealed class SchedulingModule : ICdpModule
{
    public string Name => "Scheduling";

    public void AddServices(IServiceCollection services, IConfiguration configuration) =>
        services.AddModuleServices(typeof(SchedulingModule));

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
    }
}
