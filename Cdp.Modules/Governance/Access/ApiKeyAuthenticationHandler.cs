using System.Security.Claims;
using System.Text.Encodings.Web;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance.Access;

/// <summary>Admin API keys as Bearer tokens (Authorization: Bearer &lt;key&gt;), compared in constant time (<see cref="AdminKeyRing"/>).</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory logger,
    UrlEncoder encoder,
    AdminKeyRing keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    public const string RoleClaim = ClaimTypes.Role;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header) || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return Task.FromResult(AuthenticateResult.NoResult());
        // the keys in force (AdminKeyRing: as validated at start, or as reloaded from a valid edit of the settings)
        if (keys.Find(header["Bearer ".Length..]) is { } key)
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(AdminKeyRing.Principal(key), AdminAccess.Scheme)));
        return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 401;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Response.WriteAsJsonAsync(new { title = "Unauthorized", status = 401, detail = "send an admin API key as 'Authorization: Bearer <key>' (Cdp:Admin:ApiKeys)" });
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 403;
        return Response.WriteAsJsonAsync(new { title = "Forbidden", status = 403, detail = "this API key's role may not do this" });
    }
}
