using Cdp.Modules.Pipeline.Contracts;
using Cdp.Modules.Segments.Api;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Segments;

/// <summary>Segments: the condition language, real-time membership, sweeps, history, preview and explanations.</summary>
public sealed class SegmentsModule : ICdpModule
{
    public string Name => "Segments";

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<SegmentSettings, SegmentSettingsValidator>(configuration, SegmentSettings.Section);
        services.AddValidatedSettings<SegmentEvaluationOptions, SegmentEvaluationOptionsValidator>(configuration, SegmentEvaluationOptions.Section);
        services.AddModuleServices(typeof(SegmentsModule));
        services.AddStore<Membership.ISegmentStore, Membership.LiteDb.LiteSegmentStore, Membership.PostgreSql.PostgresSegmentStore>();
        services.AddSingleton<Shared.Storage.PostgreSql.IPostgresSchema, Membership.PostgreSql.SegmentsPostgresSchema>();
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/segments").WithTags("Segments").RequireReader().AnswerUnavailableProcessorWith503();
        SegmentEndpoints.Map(group);
    }
}
