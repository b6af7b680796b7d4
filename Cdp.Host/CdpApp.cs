using Cdp.Modules.Activation;
using Cdp.Modules.Collection;
using Cdp.Modules.Governance;
using Cdp.Modules.Identity;
using Cdp.Modules.Matching;
using Cdp.Modules.Pipeline;
using Cdp.Modules.Profiles;
using Cdp.Modules.Scheduling;
using Cdp.Modules.Segments;
using Cdp.Modules.Shared;
using Cdp.Modules.Shared.Modules;
using Cdp.Host.Admin;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Cdp.Host;

/// <summary>Wires the modules into one web host. Used by Program, the tests and the benchmark.</summary>
public static class CdpApp
{
    /// <summary>Kestrel's cap for any request body; /v1 enforces Segment's own limits below it.</summary>
    public const long MaxRequestBodyBytes = 2 * 1024 * 1024;

    public static IReadOnlyList<ICdpModule> Modules { get; } =
    [
        new GovernanceModule(),
        new CollectionModule(),
        new IdentityModule(),
        new ProfilesModule(),
        new PipelineModule(),
        new MatchingModule(),
        new SegmentsModule(),
        new ActivationModule(),
        new SchedulingModule(),
    ];

    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        Configure(builder.Services, builder.Configuration, builder);
        return builder;
    }

    public static void Configure(IServiceCollection services, IConfiguration configuration, WebApplicationBuilder? builder = null)
    {
        builder?.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            k.AddServerHeader = false;
        });
        // Connection limits and idle timeouts from Cdp:Http (validated at start, exit 2 naming the key), for every Kestrel
        // the host runs, whatever else configures it
        services.AddValidatedSettings<HttpLimitsOptions, HttpLimitsOptionsValidator>(configuration, HttpLimitsOptions.Section);
        // Cdp:Http:ForwardedHeaders: X-Forwarded-For/-Proto from trusted proxies only, in front of every other middleware
        ForwardedHeadersStartup.Register(services, configuration);
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<HttpLimitsOptions>>((k, http) =>
        {
            var o = http.Value;
            k.Limits.MaxConcurrentConnections = o.MaxConcurrentConnections;
            k.Limits.MaxConcurrentUpgradedConnections = o.MaxConcurrentUpgradedConnections;
            k.Limits.KeepAliveTimeout = o.KeepAliveTimeout;
            k.Limits.RequestHeadersTimeout = o.RequestHeadersTimeout;
        });
        services.AddRequestDecompression();
        services.AddProblemDetails();
        services.AddOpenApi();
        services.AddHealthChecks();
        services.AddCdpShared(configuration);
        foreach (var module in Modules) module.AddServices(services, configuration);
    }

    /// <summary>Runs every ValidateOnStart check now; throws OptionsValidationException naming each bad setting.</summary>
    public static void ValidateSettings(IServiceProvider services) =>
        services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();

    /// <summary>A connection limit above the process's descriptor limit brings back the abort it is there to prevent: say so at start.</summary>
    private static void WarnWhenConnectionsCanExhaustFileDescriptors(WebApplication app)
    {
        if (FileDescriptorLimit.Soft() is not { } fds) return;
        var http = app.Services.GetRequiredService<IOptions<HttpLimitsOptions>>().Value;
        var needed = http.MaxConcurrentConnections + http.MaxConcurrentUpgradedConnections + FileDescriptorLimit.Reserve;
        if (needed > fds)
            app.Logger.LogWarning("Cdp:Http:MaxConcurrentConnections ({Connections}) + MaxConcurrentUpgradedConnections ({Upgraded}) + {Reserve} " +
                "descriptors for files exceed this process's file-descriptor limit ({Limit}): raise LimitNOFILE (65536 recommended) or lower the limits",
                http.MaxConcurrentConnections, http.MaxConcurrentUpgradedConnections, FileDescriptorLimit.Reserve, fds);
    }

    private static bool IsTrackingPath(PathString path) =>
        path.StartsWithSegments("/v1") || path.StartsWithSegments("/beacon") || path.StartsWithSegments("/sourceConfig");

    public static WebApplication Build(WebApplicationBuilder builder)
    {
        var app = builder.Build();
        if (app.Services.GetRequiredService<IOptions<Cdp.Modules.Shared.Storage.StorageOptions>>().Value.UsesPostgreSql)
        {
            // one Cdp per database (a second process: exit 2), then the schema is created or upgraded before any module reads
            // or writes (PostgresUnavailableException: exit 6)
            var applied = Cdp.Modules.Shared.Storage.PostgreSql.PostgresStorage.Open(app.Services);
            if (applied.Count > 0) app.Logger.LogInformation("PostgreSQL schema migrations applied: {Migrations}", string.Join(", ", applied.Select(m => $"{m.Module} {m.Version}: {m.Name}")));
        }
        else
        {
            // one Cdp per database file: cdp.db (its lock, see DatabaseFileLock) is opened first, so a second process is refused naming it
            app.Services.GetRequiredService<Cdp.Modules.Shared.Storage.CdpDatabase>();
        }
        WarnWhenConnectionsCanExhaustFileDescriptors(app);
        app.UseRequestDecompression();
        // The Tracking API authenticates by write key itself: no admin-key handler per /v1 request (it was created, resolved
        // and disposed per request, a tenth of /v1/track's CPU). The property tells WebApplication that authentication is
        // placed, so it does not add it again in front of every request (the key UseAuthentication sets).
        // The browser-facing paths (sendBeacon, the SDKs' config documents) carry the write key the same way.
        // route values: the raw path segment percent-decoded once (Shared/Http/RouteValueDecoding), so "user_id:crm%2F123" is crm/123
        app.UseWhen(c => !IsTrackingPath(c.Request.Path), branch => branch.UseAuthentication().UseRouteValuesDecodedOnce());
        ((IApplicationBuilder)app).Properties["__AuthenticationMiddlewareSet"] = true;
        // requests to the admin surfaces without a valid key: limited per address (Governance, Cdp:Admin:Unauthenticated)
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/api") || c.Request.Path.StartsWithSegments("/jobs"), branch => branch.UseRateLimiter());
        app.UseAuthorization();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = Cdp.Modules.Shared.Http.ReadinessResponse.WriteAsync });
        app.MapOpenApi("/openapi/{documentName}.json");
        foreach (var module in Modules) module.MapEndpoints(app);
        app.MapAdminUi();
        return app;
    }
}
