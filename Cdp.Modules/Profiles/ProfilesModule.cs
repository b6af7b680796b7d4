using Cdp.Modules.Profiles.Api;
using Cdp.Modules.Profiles.Projection;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Profiles;

/// <summary>
/// The profile projection (traits, computed traits, timeline) and the Profile API. The pipeline (its own module, above this
/// one) drives the projection through <see cref="Contracts.IProfileProjection"/>.
/// </summary>
public sealed class ProfilesModule : ICdpModule
{
    public string Name => "Profiles";

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<ProfilesOptions, ProfilesOptionsValidator>(configuration, ProfilesOptions.Section);
        services.AddSingleton<IValidateOptions<ProfilesOptions>, SurvivorshipSourceRules>();
        services.AddSingleton(sp => new ComputedTraits(sp.GetRequiredService<IOptions<ProfilesOptions>>().Value, sp.GetRequiredService<SkippedValueMetrics>()));
        services.AddModuleServices(typeof(ProfilesModule));
        services.AddStore<Projection.IProfileStore, Projection.LiteDb.LiteProfileStore, Projection.PostgreSql.PostgresProfileStore>();
        services.AddSingleton<Shared.Storage.PostgreSql.IPostgresSchema, Projection.PostgreSql.ProfilesPostgresSchema>();
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/profiles").WithTags("Profiles").RequireReader();
        ProfileEndpoints.Map(group);
    }
}
