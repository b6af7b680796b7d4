using Cdp.Modules.Governance.Access;
using Cdp.Modules.Governance.Audit;
using Cdp.Modules.Governance.Operations;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance;

/// <summary>Admin auth (API keys with roles), the audit log, backups; privacy (deletion with receipts, suppression, subject access export) and consent.</summary>
public sealed class GovernanceModule : ICdpModule
{
    public string Name => "Governance";

    public void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<AdminOptions, AdminOptionsValidator>(configuration, AdminOptions.Section);
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<AdminOptions>, ProductionAdminKeyRules>();
        services.AddSingleton<AdminKeyRing>();
        services.AddSingleton<IAdminSessions, AdminSessions>();
        services.AddAuthentication(AdminAccess.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(AdminAccess.Scheme, _ => { });
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminAccess.AdminPolicy, p => p.RequireAuthenticatedUser().RequireRole(nameof(AdminRole.Admin)))
            .AddPolicy(AdminAccess.ReadPolicy, p => p.RequireAuthenticatedUser().RequireRole(nameof(AdminRole.Admin), nameof(AdminRole.Analyst)));
        services.AddValidatedSettings<AuditOptions, AuditOptionsValidator>(configuration, AuditOptions.Section);
        services.AddValidatedSettings<BackupOptions, BackupOptionsValidator>(configuration, BackupOptions.Section);
        // requests without a valid key: a per-address limit (CdpApp puts the rate limiter after authentication on /api and /jobs)
        services.AddValidatedSettings<UnauthenticatedLimitOptions, UnauthenticatedLimitOptionsValidator>(configuration, UnauthenticatedLimitOptions.Section);
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<UnauthenticatedLimitOptions>, UnauthenticatedRequests>(
            (o, limit, tally) => UnauthenticatedLimit.Configure(o, limit.Value, tally));
        services.AddModuleServices(typeof(GovernanceModule));
        services.AddStore<Privacy.IPrivacyStore, Privacy.LiteDb.LitePrivacyStore, Privacy.PostgreSql.PostgresPrivacyStore>();
        services.AddStore<Contracts.IDatabaseBackup, Operations.LiteDb.DatabaseBackup, Operations.PostgreSql.PostgresBackupRefusal>();
        services.AddStore<IAuditStore, Audit.LiteDb.LiteAuditStore, Audit.PostgreSql.PostgresAuditStore>();
        services.AddSingleton<Shared.Storage.PostgreSql.IPostgresSchema, Audit.PostgreSql.GovernancePostgresSchema>();
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        MetricsEndpoint.Map(endpoints);
        MeEndpoint.Map(endpoints);
        Privacy.PrivacyEndpoints.Map(endpoints);
        AuditEndpoints.Map(endpoints);
        BackupEndpoints.Map(endpoints);
    }
}
