using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Cdp.Modules.Shared.Http;

/// <summary>
/// One decoding rule for every value taken from a URL path (profile references "user_id:crm%2F123", profile ids, segment
/// keys...): the path segment as sent, percent-decoded exactly once (RFC 3986), so "%2F" is "/", "%25" is "%", "%20" is a
/// space, "%C3%A9" is "é" and "+" is a plus sign. Kestrel decodes the path but leaves "%2F" encoded (so that it cannot
/// split a segment), which made "crm%2F123" and "crm%252F123" the same route value, "crm%2F123": a user whose id is
/// crm/123 was not found and one whose id is literally "crm%2F123" was returned instead. This rewrites each route value
/// of a matched endpoint from the raw request target; a value whose raw segment holds no '%' is left as it is.
/// </summary>
public static partial class RouteValueDecoding
{
    public static IApplicationBuilder UseRouteValuesDecodedOnce(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            Apply(context);
            return next(context);
        });

    public static void Apply(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (raw is null || !raw.Contains('%') || context.GetEndpoint() is not RouteEndpoint endpoint) return;
        var query = raw.IndexOf('?');
        var path = query >= 0 ? raw[..query] : raw;
        if (!path.StartsWith('/'))
        {
            // absolute-form request target (http://host/path): its path, still escaped
            if (!Uri.TryCreate(path, UriKind.Absolute, out var uri)) return;
            path = uri.AbsolutePath;
        }
        var segments = path.Split('/');
        var skip = context.Request.PathBase.HasValue ? context.Request.PathBase.Value!.Split('/', StringSplitOptions.RemoveEmptyEntries).Length : 0;
        var pattern = endpoint.RoutePattern.PathSegments;
        for (var i = 0; i < pattern.Count; i++)
        {
            if (pattern[i].Parts is not [RoutePatternParameterPart { IsCatchAll: false } parameter]) continue;
            var at = 1 + skip + i;
            if (at >= segments.Length || !segments[at].Contains('%')) continue;
            if (context.Request.RouteValues[parameter.Name] is not string current) continue;
            // the segment must be the one the route value came from: decoded as Kestrel does (all but %2F), it equals it
            if (!string.Equals(Uri.UnescapeDataString(EncodedSlash().Replace(segments[at], m => "%25" + m.Value[1..])), current, StringComparison.Ordinal)) continue;
            context.Request.RouteValues[parameter.Name] = Uri.UnescapeDataString(segments[at]);
        }
    }

    [GeneratedRegex("%2[fF]")]
    private static partial Regex EncodedSlash();
}
