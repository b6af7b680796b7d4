using Cdp.Modules.Shared.Modules;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Cdp.Modules.Collection.Ingest;

/// <summary>The web origins one source accepts (<c>Cdp:Sources:&lt;name&gt;:AllowedOrigins</c>); empty = any.</summary>
internal sealed class AllowedOrigins
{
    private readonly HashSet<string> _origins;

    public AllowedOrigins(IEnumerable<string> configured)
    {
        var list = configured.Select(Normalise).OfType<string>().ToList();
        Any = list.Count == 0 || list.Contains("*");
        _origins = new HashSet<string>(list, StringComparer.OrdinalIgnoreCase);
    }

    public bool Any { get; }

    public IEnumerable<string> Listed => _origins;

    public bool Allows(string origin) => Any || _origins.Contains(origin);

    /// <summary><c>*</c>, or the origin as a browser sends it (scheme://host[:port], default port dropped); null when not an origin.</summary>
    public static string? Normalise(string? value)
    {
        var v = value?.Trim();
        if (string.IsNullOrEmpty(v)) return null;
        if (v == "*") return v;
        var schemeEnd = v.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0 || v.IndexOfAny(['/', '?', '#', '@', ' '], schemeEnd + 3) >= 0) return null;
        if (!Uri.TryCreate(v, UriKind.Absolute, out var uri) || uri.Host.Length == 0) return null;
        return uri.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped);
    }
}

/// <summary>
/// CORS for the browser-facing paths only (tracking, beacon, SDK settings); the admin API stays same-origin. Written by
/// hand rather than with ASP.NET's CORS middleware: /v1/track pays one header lookup when no Origin is sent, and the
/// policy depends on the write key, which only the endpoint knows. The request's Origin is echoed (never <c>*</c>) with
/// <c>Vary: Origin</c>, so the answer is right with or without credentials; no Allow-Credentials: Cdp reads no cookies.
/// </summary>
[Service]
internal sealed class BrowserCors(SourceRegistry sources)
{
    /// <summary>Chromium caps Access-Control-Max-Age at 2 hours (Firefox at 24): one preflight per path per 2 hours.</summary>
    public const int PreflightMaxAgeSeconds = 7200;

    private const string Methods = "GET, HEAD, POST, OPTIONS";

    /// <summary>Sent when the browser's own list is unusable: every header the SDKs' sources set (analytics.js 1.84, RudderStack 3.34).</summary>
    private const string KnownSdkHeaders =
        "Authorization, Content-Type, Accept, X-Retry-Count, AnonymousId, SentAt, Rsa-Recovered, Rsa-Retry-Attempt, " +
        "Rsa-Since-Last-Attempt, Rsa-Since-First-Attempt, Rsa-Retry-Reason, Content-Encoding, X-Strict-Mode";

    /// <summary>Longest Access-Control-Request-Headers echoed back.</summary>
    private const int MaxRequestHeadersLength = 2048;

    /// <summary>Whether any source accepts this origin: a preflight (and a request whose source is unknown) cannot say which.</summary>
    public bool AnySourceAllows(string origin) => sources.AnyAllowsOrigin(origin);

    /// <summary>Headers every answer to an allowed cross-origin request carries (all statuses, so the SDK can read 4xx/5xx and Retry-After).</summary>
    public static void Allow(HttpResponse response, string origin)
    {
        var h = response.Headers;
        h.AccessControlAllowOrigin = origin;
        h.AccessControlExposeHeaders = "Retry-After";
        h.Vary = "Origin";
    }

    /// <summary>Takes back <see cref="Allow"/> (the request's source does not accept the origin).</summary>
    public static void Revoke(HttpResponse response)
    {
        response.Headers.Remove("Access-Control-Allow-Origin");
        response.Headers.Remove("Access-Control-Expose-Headers");
    }

    /// <summary>The request's Origin when it has one.</summary>
    public static string? OriginOf(HttpRequest request)
    {
        var o = request.Headers.Origin;
        return o.Count == 1 && o[0] is { Length: > 0 } s ? s : null;
    }

    /// <summary>Sets the CORS headers when the origin is accepted by any source (before the source is known).</summary>
    public void AllowIfAnySource(HttpContext ctx)
    {
        if (OriginOf(ctx.Request) is { } origin && AnySourceAllows(origin)) Allow(ctx.Response, origin);
    }

    /// <summary>OPTIONS on a browser-facing path: 204 with the CORS answer, 403 when no source accepts the origin.</summary>
    public Task PreflightAsync(HttpContext ctx)
    {
        var origin = OriginOf(ctx.Request);
        if (origin is null)
        {
            ctx.Response.Headers.Allow = Methods; // a plain OPTIONS, not a browser's preflight
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }
        if (!AnySourceAllows(origin))
        {
            return Results.Problem(title: "Origin not allowed",
                detail: $"no source under Cdp:Sources lists {origin} in its AllowedOrigins", statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(ctx);
        }
        var h = ctx.Response.Headers;
        h.AccessControlAllowOrigin = origin;
        h.AccessControlAllowMethods = Methods;
        h.AccessControlAllowHeaders = AllowedHeaders(ctx.Request.Headers.AccessControlRequestHeaders);
        h.AccessControlMaxAge = PreflightMaxAgeSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        h.Vary = "Origin, Access-Control-Request-Headers";
        ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    /// <summary>
    /// The headers the browser asked for, echoed when each is a well-formed header name (SDKs add headers between versions:
    /// a fixed list would break them silently); <see cref="KnownSdkHeaders"/> otherwise.
    /// </summary>
    internal static string AllowedHeaders(StringValues requested)
    {
        var asked = requested.ToString();
        if (asked.Length == 0) return KnownSdkHeaders;
        if (asked.Length > MaxRequestHeadersLength) return KnownSdkHeaders;
        foreach (var part in asked.Split(','))
        {
            var name = part.AsSpan().Trim();
            if (name.Length == 0 || !IsToken(name)) return KnownSdkHeaders;
        }
        return asked;
    }

    private static bool IsToken(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (char.IsAsciiLetterOrDigit(c)) continue;
            if ("!#$%&'*+-.^_`|~".Contains(c)) continue;
            return false;
        }
        return true;
    }
}
