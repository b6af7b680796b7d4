using Cdp.Modules.Shared.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Matching.Engine;

/// <summary>Registers the matching settings (validated at start-up) and the engine. Called by MatchingModule.AddServices.</summary>
internal static class MatchingRegistration
{
    public static IServiceCollection Add(IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<MatchingOptions, MatchingOptionsValidator>(configuration, MatchingOptions.Section);
        services.AddSingleton(sp => new MatchingEngine(sp.GetRequiredService<IOptions<MatchingOptions>>().Value));
        return services;
    }
}
