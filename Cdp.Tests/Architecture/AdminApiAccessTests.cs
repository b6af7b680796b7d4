using Cdp.Tests.Support;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;

namespace Cdp.Tests.Architecture;

/// <summary>Nothing under /api or /jobs answers without an admin API key: every such endpoint carries a policy.</summary>
public sealed class AdminApiAccessTests
{
    [Fact]
    public async Task Every_api_endpoint_requires_an_admin_or_analyst_key()
    {
        using var host = new CdpHost();
        var endpoints = host.Service<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } r && (r.StartsWith("/api", StringComparison.Ordinal) || r.StartsWith("api", StringComparison.Ordinal)))
            .ToList();
        endpoints.Should().NotBeEmpty();
        var open = endpoints.Where(e => e.Metadata.GetOrderedMetadata<IAuthorizeData>().Count == 0 && e.Metadata.GetMetadata<IAllowAnonymous>() is null)
            .Select(e => e.RoutePattern.RawText).ToList();
        open.Should().BeEmpty("every /api endpoint needs RequireAdmin() or RequireReader()");

        // and a request without a key is refused at each GET without route parameters
        var client = host.CreateClient();
        foreach (var e in endpoints.Where(e => e.RoutePattern.Parameters.Count == 0 && e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.Contains("GET") == true))
            ((int)(await client.GetAsync(e.RoutePattern.RawText)).StatusCode).Should().Be(401, e.RoutePattern.RawText);
    }
}
