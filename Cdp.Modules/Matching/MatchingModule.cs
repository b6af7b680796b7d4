using Cdp.Modules.Pipeline.Contracts;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Matching;

/// <summary>
/// Probabilistic matching: the Fellegi-Sunter engine (Engine/: blocking, comparisons, parameter estimation) and profile
/// matching on top of it (ProfileMatching/: runs, the review queue, the member guard, the journal of changed profiles).
/// Above Profiles and Pipeline: it reads profiles and hands its merge decisions to the processor as links, which the identity
/// graph applies (Identity stores and replays them; Matching only decides).
/// </summary>
public sealed class MatchingModule : ICdpModule
{
    public string Name => "Matching";

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddModuleServices(typeof(MatchingModule));
        services.AddStore<ProfileMatching.IMatchingStore, ProfileMatching.LiteDb.LiteMatchingStore, ProfileMatching.PostgreSql.PostgresMatchingStore>();
        services.AddSingleton<Shared.Storage.PostgreSql.IPostgresSchema, ProfileMatching.PostgreSql.MatchingPostgresSchema>();
        Engine.MatchingRegistration.Add(services, configuration);
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        // the routes stay under /api/identity (review queue, runs): what an admin resolves is identity
        var group = endpoints.MapGroup("/api/identity").WithTags("Identity").RequireReader().AnswerUnavailableProcessorWith503();
        ProfileMatching.MatchingEndpoints.Map(group);
    }
}
