using System.Reflection;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace Cdp.Host.Admin;

/// <summary>
/// The admin web UI at /admin: static files embedded in Cdp.Host (Admin/wwwroot, with a manifest so the single-file
/// executable carries them). The pages hold no data of their own: every action calls the same /api endpoints with the
/// API key the user signed in with (Bearer), so there is no second way in.
/// </summary>
internal static class AdminUi
{
    public const string BasePath = "/admin";

    /// <summary>Scripts and styles only from /admin itself (no inline script, no CDN); the API on the same origin.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly Lazy<IFileProvider> Files = new(() =>
        new ManifestEmbeddedFileProvider(Assembly.GetExecutingAssembly(), "Admin/wwwroot"));

    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    /// <summary>Changes with every build of the host, so a browser revalidates after an upgrade.</summary>
    private static readonly string BuildTag = Assembly.GetExecutingAssembly().ManifestModule.ModuleVersionId.ToString("N")[..16];

    public static void MapAdminUi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(BasePath + "/{**path}", Serve).ExcludeFromDescription();
    }

    private static IResult Serve(string? path, HttpContext context)
    {
        // relative links in index.html need the trailing slash: /admin -> /admin/
        if (string.Equals(context.Request.Path.Value, BasePath, StringComparison.OrdinalIgnoreCase))
            return Results.Redirect(BasePath + "/" + context.Request.QueryString);
        var relative = string.IsNullOrEmpty(path) ? "index.html" : path;
        var file = relative.Contains("..", StringComparison.Ordinal) ? null : Files.Value.GetFileInfo(relative);
        if (file is null || !file.Exists || file.IsDirectory)
        {
            // the UI routes with the URL fragment; any other unknown path is a plain 404
            return Results.NotFound();
        }
        if (!ContentTypes.TryGetContentType(file.Name, out var contentType)) contentType = "application/octet-stream";
        if (contentType.StartsWith("text/", StringComparison.Ordinal) || contentType is "application/javascript" or "text/javascript")
            contentType += "; charset=utf-8";
        var headers = context.Response.Headers;
        headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
        headers[HeaderNames.XContentTypeOptions] = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers[HeaderNames.XFrameOptions] = "DENY";
        // revalidate every time: an upgrade must never mix old and new modules; the ETag keeps it cheap
        headers[HeaderNames.CacheControl] = "no-cache";
        var etag = new EntityTagHeaderValue("\"" + BuildTag + "-" + file.Length + "\"");
        return Results.Stream(file.CreateReadStream(), contentType, lastModified: file.LastModified, entityTag: etag);
    }
}
