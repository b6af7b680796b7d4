using System.Net;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Hosting;

namespace Cdp.Modules.Scheduling.Dashboard;

/// <summary>
/// Browsers cannot send a Bearer header, so an admin signs in once at /jobs/sign-in with the admin API key;
/// the key then travels in an HttpOnly, SameSite=Strict cookie scoped to /jobs, and this middleware (first in
/// the pipeline, before authentication) turns it back into the Bearer header the API-key scheme reads.
/// Scripts can skip all this and send the header: curl -H "Authorization: Bearer $KEY" http://host/jobs
/// </summary>
internal sealed class DashboardSignIn : IStartupFilter
{
    public const string Path = "/jobs";
    public const string SignInPath = Path + "/sign-in";
    public const string SignOutPath = Path + "/sign-out";
    public const string CookieName = "cdp_jobs_key";
    public const string FormField = "key";

    /// <summary>A signed-in browser stays signed in for a working day.</summary>
    public static readonly TimeSpan CookieLifetime = TimeSpan.FromHours(8);

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            var request = context.Request;
            if (request.Path.StartsWithSegments(Path) && string.IsNullOrEmpty(request.Headers.Authorization))
            {
                if (request.Path.Equals(SignInPath) && HttpMethods.IsPost(request.Method) && request.HasFormContentType)
                {
                    var form = await request.ReadFormAsync(context.RequestAborted);
                    if (form[FormField].ToString() is { Length: > 0 } key) request.Headers.Authorization = "Bearer " + key;
                }
                else if (request.Cookies[CookieName] is { Length: > 0 } cookie)
                {
                    request.Headers.Authorization = "Bearer " + cookie;
                }
            }
            await nextMiddleware(context);
        });
        next(app);
    };

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(SignInPath, () => Page(null)).ExcludeFromDescription();

        endpoints.MapPost(SignInPath, async (HttpContext context, IAuthorizationService authorization) =>
        {
            var allowed = await authorization.AuthorizeAsync(context.User, AdminAccess.AdminPolicy);
            if (!allowed.Succeeded) return Page("That is not an admin API key.", HttpStatusCode.Unauthorized);
            var key = context.Request.Headers.Authorization.ToString()["Bearer ".Length..];
            context.Response.Cookies.Append(CookieName, key, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = context.Request.IsHttps,
                Path = Path,
                MaxAge = CookieLifetime,
            });
            return Results.Redirect(Path + "/");
        }).ExcludeFromDescription().DisableAntiforgery();

        endpoints.MapPost(SignOutPath, (HttpContext context) =>
        {
            context.Response.Cookies.Delete(CookieName, new CookieOptions { Path = Path });
            return Results.Redirect(SignInPath);
        }).ExcludeFromDescription().DisableAntiforgery();
    }

    private static IResult Page(string? error, HttpStatusCode status = HttpStatusCode.OK) => Results.Content(
        $$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Cdp jobs: sign in</title>
        <style>body{font-family:sans-serif;max-width:26rem;margin:4rem auto}input{width:100%;padding:.5rem;margin:.5rem 0}p.e{color:#b00}</style></head>
        <body><h1>Cdp jobs</h1>
        <p>Sign in with an admin API key (Cdp:Admin:ApiKeys, role Admin).</p>
        {{(error is null ? "" : $"<p class=\"e\">{WebUtility.HtmlEncode(error)}</p>")}}
        <form method="post" action="{{SignInPath}}"><input type="password" name="{{FormField}}" autocomplete="current-password" autofocus>
        <input type="submit" value="Sign in"></form></body></html>
        """, "text/html; charset=utf-8", statusCode: (int)status);
}
