using Cdp.Modules.Collection.DeadLetters;
using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Collection.Import;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Collection;

/// <summary>The Segment-compatible Tracking API, validation, dead letters and the durable event log.</summary>
public sealed class CollectionModule : ICdpModule
{
    public string Name => "Collection";

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<SourcesOptions, SourcesOptionsValidator>(configuration, SourcesOptions.Section);
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<SourcesOptions>, ProductionWriteKeyRules>();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<SourcesOptions>, TrackingPlans.TrackingPlanSettingsRules>();
        services.AddValidatedSettings<TrackingPlans.TrackingPlansOptions, TrackingPlans.TrackingPlansOptionsValidator>(configuration, TrackingPlans.TrackingPlanCatalogue.Section);
        services.AddValidatedSettings<CollectionOptions, CollectionOptionsValidator>(configuration, CollectionOptions.Section);
        services.AddSingleton<TrackingEventValidator>();
        services.AddSingleton(sp => new EventNormaliser(
            sp.GetRequiredService<TrackingEventValidator>(), sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<CollectionOptions>>().Value.MaxFutureSkew));
        services.AddModuleServices(typeof(CollectionModule));
        // each store on the provider Cdp:Storage:Provider names; the PostgreSQL tables come with the module's migrations
        services.AddStore<IEventLogStore, EventLog.LiteDb.LiteEventLogStore, EventLog.PostgreSql.PostgresEventLogStore>();
        services.AddStore<IDeadLetterStore, DeadLetters.LiteDb.LiteDeadLetterStore, DeadLetters.PostgreSql.PostgresDeadLetterStore>();
        services.AddStore<IImportLedger, Import.LiteDb.LiteImportLedger, Import.PostgreSql.PostgresImportLedger>();
        services.AddStore<Statistics.IIngestStatisticsStore, Statistics.LiteDb.LiteIngestStatisticsStore, Statistics.PostgreSql.PostgresIngestStatisticsStore>();
        services.AddStore<TrackingPlans.IViolationStore, TrackingPlans.LiteDb.LiteViolationStore, TrackingPlans.PostgreSql.PostgresViolationStore>();
        services.AddSingleton<Cdp.Modules.Shared.Storage.PostgreSql.IPostgresSchema, EventLog.PostgreSql.CollectionPostgresSchema>();
        services.AddHealthChecks().AddCheck<EventLogHealthCheck>("event-log", tags: ["ready"]);
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        TrackingEndpoints.Map(endpoints);
        Webhooks.WebhookEndpoints.Map(endpoints);
        SdkSettingsEndpoints.Map(endpoints);
        var admin = endpoints.MapGroup("/api/collection").WithTags("Collection").RequireReader();
        DeadLetterEndpoints.Map(admin);
        EventLogEndpoints.Map(admin);
        Statistics.IngestStatistics.Map(admin);
        ImportEndpoints.Map(admin);
        TrackingPlans.TrackingPlanEndpoints.Map(endpoints.MapGroup("/api/tracking-plans").WithTags("Tracking plans").RequireReader());
    }
}
