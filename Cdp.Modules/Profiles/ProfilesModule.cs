using Cdp.Modules.Profiles.Api;
using Cdp.Modules.Profiles.Contracts;
using Microsoft.AspNetCore.Http;
using Cdp.Modules.Profiles.Processing;
using Cdp.Modules.Profiles.Projection;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Profiles;

/// <summary>The profile projection (traits, computed traits, timeline), its processor and the Profile API.</summary>
public sealed class ProfilesModule : ICdpModule
{
    public string Name => "Profiles";

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<ProfilesOptions, ProfilesOptionsValidator>(configuration, ProfilesOptions.Section);
        services.AddSingleton<IValidateOptions<ProfilesOptions>, SurvivorshipSourceRules>();
        services.AddSingleton(sp => new ComputedTraits(sp.GetRequiredService<IOptions<ProfilesOptions>>().Value, sp.GetRequiredService<SkippedValueMetrics>()));
        services.AddValidatedSettings<ProcessorRecoveryOptions, ProcessorRecoveryOptionsValidator>(configuration, ProcessorRecoveryOptions.Section);
        services.AddModuleServices(typeof(ProfilesModule));
        services.AddHealthChecks().AddCheck<ProcessorHealthCheck>("profile-processor", tags: ["ready"]);
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/profiles").WithTags("Profiles").RequireReader();
        // a command for a dead processor fails at once: 503 with the reason, not a 500
        group.AddEndpointFilter(async (context, next) =>
        {
            try { return await next(context); }
            catch (ProcessorUnavailableException ex)
            {
                return TypedResults.Problem(title: "the profile processor is not running", detail: ex.Message, statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        });
        ProfileEndpoints.Map(group);
        ProcessorFailureEndpoints.Map(group);
    }
}
