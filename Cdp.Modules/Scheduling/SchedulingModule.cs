using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Scheduling.Dashboard;
using Cdp.Modules.Scheduling.Hosting;
using Cdp.Modules.Scheduling.Kinds;
using Cdp.Modules.Scheduling.Storage;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Hangfire;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Scheduling;

/// <summary>
/// Hangfire on Cdp's own LiteDB job storage (a file beside cdp.db), its server inside the host,
/// the dashboard at /jobs (admin API key), and the recurring jobs of appsettings.
/// </summary>
public sealed class SchedulingModule : ICdpModule
{
    public string Name => "Scheduling";

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<SchedulingOptions, SchedulingOptionsValidator>(configuration, SchedulingOptions.Section);
        // job kinds are known once every module has registered: the collection is read when the settings are validated
        services.AddSingleton(new KnownJobKinds(services));
        services.AddSingleton<IValidateOptions<SchedulingOptions>, RecurringJobKindsValidator>();
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<SchedulingOptions>>().Value;
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new LiteDbJobStorage(new LiteDbJobStorageOptions
            {
                Path = JobsPath(o, storage),
                InvisibilityTimeout = o.InvisibilityTimeout,
                QueuePollInterval = o.QueuePollInterval,
                ExpirationCheckInterval = o.ExpirationCheckInterval,
                CheckpointPages = storage.CheckpointPages,
            }, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger<LiteDbJobStorage>(),
                sp.GetService<StorageHealth>());
        });
        // Cdp:Storage:Provider picks the jobs' storage: Cdp's own on LiteDB (a file beside cdp.db), Hangfire.PostgreSql on PostgreSQL
        services.AddSingleton<JobStorage>(sp =>
            sp.GetRequiredService<IOptions<StorageOptions>>().Value.UsesPostgreSql
                ? Storage.PostgreSql.PostgresJobStorage.Create(sp.GetRequiredService<Cdp.Modules.Shared.Storage.PostgreSql.PostgresDatabase>(), sp.GetRequiredService<IOptions<SchedulingOptions>>().Value)
                : sp.GetRequiredService<LiteDbJobStorage>());
        services.AddSingleton(sp => sp.GetRequiredService<JobMachinery>().Client);
        services.AddSingleton(sp => sp.GetRequiredService<JobMachinery>().RecurringJobs);
        services.AddSingleton<JobMachinery>();
        // The dashboard checks these are registered; the instances are Hangfire's own, and nothing here mutates them.
        services.AddSingleton<IGlobalConfiguration>(_ => GlobalConfiguration.Configuration);
        services.AddSingleton(_ => DashboardRoutes.Routes);
        services.AddSingleton<IStartupFilter, DashboardSignIn>();
        // Hangfire's dashboard requires and renders ASP.NET Core's anti-forgery token on its POSTs when IAntiforgery is registered
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = DashboardSignIn.AntiforgeryCookieName;
            o.Cookie.Path = DashboardSignIn.Path;
            o.Cookie.SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            o.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
        });
        if (configuration.GetValue<bool>(SchedulingOptions.Section + ":" + nameof(SchedulingOptions.DiagnosticKinds)))
            services.AddSingleton<IRecurringJobKind, DiagnosticSleepJobKind>();
        services.AddModuleServices(typeof(SchedulingModule));
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        SchedulingEndpoints.Map(endpoints);
        DashboardSignIn.Map(endpoints);
        endpoints.MapHangfireDashboardWithAuthorizationPolicy(AdminAccess.AdminPolicy, DashboardSignIn.Path, new DashboardOptions
        {
            DashboardTitle = "Cdp jobs",
            AppPath = "/",
            DisplayStorageConnectionString = false,
            IgnoreAntiforgeryToken = false, // every dashboard POST needs the page's token (checked: DashboardSecurityTests)
        }, endpoints.ServiceProvider.GetRequiredService<JobStorage>());
    }

    /// <summary>Cdp:Scheduling:JobsPath, or cdp-jobs.db in the folder of Cdp:Storage:Path.</summary>
    internal static string JobsPath(SchedulingOptions scheduling, StorageOptions storage) =>
        !string.IsNullOrWhiteSpace(scheduling.JobsPath)
            ? scheduling.JobsPath
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(storage.Path)) ?? ".", SchedulingOptions.DefaultJobsFileName);
}
