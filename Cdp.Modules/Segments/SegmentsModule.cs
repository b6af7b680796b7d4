using Cdp.Modules.Shared.Modules;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Segments;

/// <summary>Not built yet: see the open issues. Registered so the module map is complete from the start.</summary>
public sealed class SegmentsModule : ICdpModule
{
    public string Name => "Segments";

    public void AddServices(IServiceCollection services, IConfiguration configuration) =>
        services.AddModuleServices(typeof(SegmentsModule));

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
    }
}
