using Cdp.Modules.Pipeline.Api;
using Cdp.Modules.Pipeline.Contracts;
using Cdp.Modules.Pipeline.Processing;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Pipeline;

/// <summary>
/// The processing pipeline: the one loop that reads the event log after its checkpoint and runs each batch through
/// identity resolution (Identity), the profile projection (Profiles) and the batch participants (Segments, Matching: they
/// join through <see cref="IProfileBatchParticipant"/>), in one transaction with the checkpoint; its commands (unmerge,
/// links, reprocess, pause, erasures on its thread) and the list of events set aside.
/// </summary>
public sealed class PipelineModule : ICdpModule
{
    public string Name => "Pipeline";

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<ProcessorRecoveryOptions, ProcessorRecoveryOptionsValidator>(configuration, ProcessorRecoveryOptions.Section);
        services.AddModuleServices(typeof(PipelineModule));
        services.AddStore<IProcessorStore, Processing.LiteDb.LiteProcessorStore, Processing.PostgreSql.PostgresProcessorStore>();
        services.AddStore<IProcessorLeadership, SingleHostLeadership, Processing.PostgreSql.PostgresLeadership>();
        services.AddSingleton<Cdp.Modules.Shared.Storage.PostgreSql.IPostgresSchema, Processing.PostgreSql.PipelinePostgresSchema>();
        services.AddHealthChecks().AddCheck<ProcessorHealthCheck>("profile-processor", tags: ["ready"]);
        services.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter, ForwardableBodies>();
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        // a command for a dead processor (or, on a follower host, for the leader's) fails at once: 503 with the reason, not a 500
        var profiles = endpoints.MapGroup("/api/profiles").WithTags("Profiles").RequireReader().AnswerUnavailableProcessorWith503();
        ProcessorEndpoints.MapUnderProfiles(profiles);
        ProcessorFailureEndpoints.Map(profiles);
        ProcessorEndpoints.MapUnderIdentity(endpoints.MapGroup("/api/identity").WithTags("Identity").RequireReader().AnswerUnavailableProcessorWith503());
    }
}
