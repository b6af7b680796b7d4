using System.Security.Claims;
using Cdp.Modules.Shared.Http;

namespace Cdp.Modules.Governance.Access;

internal sealed record SignedInKey(string Name, string Role);

/// <summary>GET /api/me: which API key is signing the request (its name in Cdp:Admin:ApiKeys) and its role, for the admin UI.</summary>
internal static class MeEndpoint
{
    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/api/me", (ClaimsPrincipal user) => TypedResults.Ok(new SignedInKey(
                user.Identity?.Name ?? "", user.FindFirstValue(ApiKeyAuthenticationHandler.RoleClaim) ?? "")))
            .RequireReader().WithTags("Operations").WithSummary("The signed-in API key's name and role (Admin or Analyst)");
}
