using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance.Access;

/// <summary>Admin API keys as Bearer tokens (Authorization: Bearer &lt;key&gt;), compared in constant time.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<AdminOptions> admin)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    public const string RoleClaim = ClaimTypes.Role;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header) || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return Task.FromResult(AuthenticateResult.NoResult());
        var presented = Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim());
        foreach (var (name, key) in admin.Value.ApiKeys)
        {
            if (CryptographicOperations.FixedTimeEquals(presented, Encoding.UTF8.GetBytes(key.Key)))
            {
                var identity = new ClaimsIdentity(
                    [new Claim(ClaimTypes.Name, name), new Claim(RoleClaim, key.Role.ToString())], AdminAccess.Scheme);
                return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), AdminAccess.Scheme)));
            }
        }
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
