using System.Text.Json;
using Cdp.Modules.Shared.Modules;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Collection.Ingest;

/// <summary>
/// The configuration documents the browser SDKs fetch before they send anything, served by Cdp so that a page needs
/// only Cdp's address and the write key, and nothing is fetched from a vendor's CDN:
/// analytics.js <c>${cdnURL}/v1/projects/${writeKey}/settings</c> (browser/index.js, loadCDNSettings) and
/// RudderStack <c>${configUrl}/sourceConfig/?p=…&amp;v=…&amp;writeKey=…</c> (getSourceConfigURL; it also sends the key
/// as HTTP Basic). Both name Cdp as the only destination, with the SDKs' own telemetry off.
/// </summary>
[Service]
internal sealed class SdkSettingsEndpoints(SourceRegistry sources, BrowserCors cors, IOptions<CollectionOptions> options)
{
    public const string SegmentSettingsPath = "/v1/projects/{writeKey}/settings";
    /// <summary>Also matches "/sourceConfig/", the form the SDK builds (routing ignores a trailing slash).</summary>
    public const string RudderStackConfigPath = "/sourceConfig";

    /// <summary>Browsers and proxies may keep a document a minute: a changed source setting reaches pages quickly.</summary>
    private const string CacheControl = "public, max-age=60";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(SegmentSettingsPath, (HttpContext ctx, string writeKey, SdkSettingsEndpoints api) => api.SegmentSettingsAsync(ctx, writeKey))
            .WithTags("Tracking API").WithSummary("analytics.js settings (its cdnURL): the Segment.io integration pointed at this Cdp");
        endpoints.MapMethods(SegmentSettingsPath, [HttpMethods.Options], (HttpContext ctx, BrowserCors cors) => cors.PreflightAsync(ctx)).ExcludeFromDescription();
        endpoints.MapMethods(RudderStackConfigPath, [HttpMethods.Get, HttpMethods.Head], (HttpContext ctx, SdkSettingsEndpoints api) => api.RudderStackConfigAsync(ctx))
            .WithTags("Tracking API").WithSummary("RudderStack JS SDK source config (its configUrl): no destinations, events to this Cdp");
        endpoints.MapMethods(RudderStackConfigPath, [HttpMethods.Options], (HttpContext ctx, BrowserCors cors) => cors.PreflightAsync(ctx)).ExcludeFromDescription();
    }

    private Task SegmentSettingsAsync(HttpContext ctx, string writeKey)
    {
        if (Resolve(ctx, writeKey) is not { } source) return UnknownKey(ctx);
        var (scheme, authority) = PublicAddress(ctx.Request);
        var document = new
        {
            integrations = new Dictionary<string, object>
            {
                ["Segment.io"] = new
                {
                    apiKey = source.WriteKey,
                    apiHost = authority + "/v1",
                    protocol = scheme,
                    unbundledIntegrations = Array.Empty<string>(),
                    addBundledMetadata = false,
                    maybeBundledConfigIds = new { },
                },
            },
            plan = new { },
            edgeFunction = new { },
            analyticsNextEnabled = true,
            middlewareSettings = new { },
            enabledMiddleware = new { },
            // analytics.js sends its telemetry to ${protocol}://${host}/m with a protocol it takes from the page's load
            // options only (https unless set): off, so an http Cdp gets no failing request and the console no error
            metrics = new { sampleRate = 0, host = authority + "/v1" },
            legacyVideoPluginsEnabled = false,
            remotePlugins = Array.Empty<object>(),
        };
        return Json(ctx, document);
    }

    private Task RudderStackConfigAsync(HttpContext ctx)
    {
        var key = ctx.Request.Query["writeKey"] is { Count: > 0 } q ? q[0] : SourceRegistry.WriteKeyFromBasicAuth(ctx.Request.Headers.Authorization.ToString());
        if (Resolve(ctx, key) is not { } source) return UnknownKey(ctx);
        var document = new
        {
            isHosted = false,
            source = new
            {
                id = source.Name,
                name = source.Name,
                writeKey = source.WriteKey,
                enabled = true,
                workspaceId = "cdp",
                deleted = false,
                // the SDK reports its errors and metrics to RudderStack's servers only when these are on
                config = new { statsCollection = new { errors = new { enabled = false }, metrics = new { enabled = false } } },
                destinations = Array.Empty<object>(),
            },
        };
        return Json(ctx, document);
    }

    /// <summary>The source for the key, with the CORS headers its origin list allows; null when unknown or refused.</summary>
    private Source? Resolve(HttpContext ctx, string? writeKey)
    {
        var origin = BrowserCors.OriginOf(ctx.Request);
        var source = sources.ByWriteKey(writeKey);
        if (origin is null) return source;
        if (source is null) { cors.AllowIfAnySource(ctx); return null; }
        if (source.Origins.Allows(origin)) BrowserCors.Allow(ctx.Response, origin);
        return source;
    }

    private static Task UnknownKey(HttpContext ctx) => Results.Problem(title: "Unknown write key",
        detail: "no source under Cdp:Sources has this write key; use the WriteKey of a source (Cdp:Sources:<name>:WriteKey)",
        statusCode: StatusCodes.Status404NotFound).ExecuteAsync(ctx);

    /// <summary>Cdp as the browser reaches it: Cdp:Collection:PublicUrl, else the request's own scheme and host.</summary>
    private (string Scheme, string Authority) PublicAddress(HttpRequest request)
    {
        var configured = options.Value.PublicUrl;
        if (configured.Length > 0 && Uri.TryCreate(configured, UriKind.Absolute, out var uri))
            return (uri.Scheme, uri.Authority + uri.AbsolutePath.TrimEnd('/'));
        return (request.Scheme, request.Host.Value + request.PathBase.Value);
    }

    private static Task Json(HttpContext ctx, object document)
    {
        ctx.Response.Headers.CacheControl = CacheControl;
        ctx.Response.Headers.Vary = "Origin"; // cacheable: a copy made for one page must not answer another origin's
        if (HttpMethods.IsHead(ctx.Request.Method))
        {
            ctx.Response.ContentType = "application/json";
            return Task.CompletedTask;
        }
        return ctx.Response.WriteAsJsonAsync(document, JsonOptions);
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
}
