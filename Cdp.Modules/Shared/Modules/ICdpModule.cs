using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Shared.Modules;

/// <summary>
/// The one contract every module implements: register its services, then map its endpoints.
/// A module registers only types from its own namespace (Scrutor scans inside it).
/// </summary>
public interface ICdpModule
{
    /// <summary>Short name, also the folder and namespace of the module.</summary>
    string Name { get; }

    void AddServices(IServiceCollection services, IConfiguration configuration);

    void MapEndpoints(IEndpointRouteBuilder endpoints);
}
