using Microsoft.AspNetCore.Builder;

namespace Cdp.Modules.Shared.Http;

/// <summary>
/// Authorization policies for the admin API (/api, /jobs). Governance registers the API-key scheme
/// that backs them; modules only name the policy their endpoints need.
/// </summary>
public static class AdminAccess
{
    /// <summary>Everything, including destructive actions.</summary>
    public const string AdminPolicy = "cdp-admin";

    /// <summary>Read-only: admins and analysts.</summary>
    public const string ReadPolicy = "cdp-read";

    public const string Scheme = "CdpApiKey";

    public static TBuilder RequireAdmin<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
        => builder.RequireAuthorization(AdminPolicy);

    public static TBuilder RequireReader<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
        => builder.RequireAuthorization(ReadPolicy);
}
