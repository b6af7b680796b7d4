using System.Net;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Hosting;
using Cdp.Modules.Shared.Http;
using HeaderNames = Microsoft.Net.Http.Headers.HeaderNames;

namespace Cdp.Modules.Scheduling.Dashboard;

/// <summary>
/// Browsers cannot send a Bearer header, so an admin signs in once at /jobs/sign-in with an admin API key. The browser
/// then holds only a random session id (<see cref="IAdminSessions"/>: server-side, expiring, ended by sign-out and by
/// the key leaving the settings) in an HttpOnly, SameSite=Strict cookie scoped to /jobs, never the key. This middleware
/// (first in the pipeline, before authentication) turns a live session into the signed-in user, and gives every /jobs
/// answer the admin pages' security headers. Every POST of the dashboard needs ASP.NET Core's anti-forgery token: the
/// sign-in and sign-out forms here check it, Hangfire's dashboard checks it for its own buttons (it does when
/// IAntiforgery is registered, see SchedulingModule), so a page of another origin (even another port of the same host,
/// which SameSite does not stop) cannot post with the admin's cookie.
/// Scripts can skip all this and send the header: curl -H "Authorization: Bearer $KEY" http://host/jobs
/// </summary>
internal sealed class DashboardSignIn(IAdminSessions sessions) : IStartupFilter
{
    public const string Path = "/jobs";
    public const string SignInPath = Path + "/sign-in";
    public const string SignOutPath = Path + "/sign-out";
    public const string CookieName = "cdp_jobs_session";
    public const string AntiforgeryCookieName = "cdp_jobs_antiforgery";
    public const string FormField = "key";

    /// <summary>No admin key is this long (keys are random text of 24 to a few dozen characters): longer input is not compared.</summary>
    public const int MaxKeyLength = 1024;

    /// <summary>
    /// As on /admin: scripts and styles only from the dashboard itself, never in a frame. Hangfire's pages set a few
    /// style attributes in their HTML (progress bars, the chart's size), hence 'unsafe-inline' for styles only.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
        "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            var request = context.Request;
            if (request.Path.StartsWithSegments(Path))
            {
                var response = context.Response;
                response.OnStarting(() =>
                {
                    var headers = response.Headers;
                    headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
                    headers[HeaderNames.XContentTypeOptions] = "nosniff";
                    headers[HeaderNames.XFrameOptions] = "DENY";
                    headers["Referrer-Policy"] = "no-referrer";
                    return Task.CompletedTask;
                });
                if (string.IsNullOrEmpty(request.Headers.Authorization) && request.Cookies[CookieName] is { Length: > 0 } session
                    && sessions.Resume(session) is { } user)
                {
                    // the authentication middleware keeps this user: without an Authorization header the API-key scheme has no result
                    context.User = user;
                }
                if (!request.Path.Equals(SignInPath) && !request.Path.Equals(SignOutPath) && !await FormReadable(context)) return;
            }
            await nextMiddleware(context);
        });
        next(app);
    };

    /// <summary>
    /// Hangfire's dashboard reads a form for its commands and for /stats, and throws (a 500) when there is none (a GET of
    /// /jobs/stats, a POST with a JSON body) or it is malformed. A request without a form gets an empty one; a form that
    /// cannot be read is answered 400 here.
    /// </summary>
    private static async Task<bool> FormReadable(HttpContext context)
    {
        if (!context.Request.HasFormContentType)
        {
            context.Features.Set<Microsoft.AspNetCore.Http.Features.IFormFeature>(new Microsoft.AspNetCore.Http.Features.FormFeature(FormCollection.Empty));
            return true;
        }
        try
        {
            await context.Request.ReadFormAsync(context.RequestAborted);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsJsonAsync(new { title = "Bad Request", status = 400, detail = "the form could not be read: " + e.Message });
            return false;
        }
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(SignInPath, (HttpContext context, IAntiforgery antiforgery) => SignInPage(context, antiforgery, null))
            .ExcludeFromDescription();

        endpoints.MapPost(SignInPath, async (HttpContext context, IAntiforgery antiforgery, IAdminSessions sessions) =>
        {
            if (await CheckedForm(context, antiforgery) is { } refused) return refused;
            var key = context.Request.Form[FormField].ToString();
            if (key.Length is 0 or > MaxKeyLength || sessions.Start(key) is not { } started)
                return SignInPage(context, antiforgery, "That is not an admin API key.", HttpStatusCode.Unauthorized);
            context.User = started.User; // the audit log records who signed in
            context.Response.Cookies.Append(CookieName, started.SessionId, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                // behind a TLS proxy IsHttps comes from X-Forwarded-Proto when Cdp:Http:ForwardedHeaders trusts the proxy
                Secure = context.Request.IsHttps,
                Path = Path,
                MaxAge = sessions.Lifetime,
            });
            return Results.Redirect(Path + "/");
        }).ExcludeFromDescription().DisableAntiforgery();

        endpoints.MapGet(SignOutPath, (HttpContext context, IAntiforgery antiforgery) => SignOutPage(context, antiforgery))
            .ExcludeFromDescription();

        endpoints.MapPost(SignOutPath, async (HttpContext context, IAntiforgery antiforgery, IAdminSessions sessions) =>
        {
            if (await CheckedForm(context, antiforgery) is { } refused) return refused;
            if (context.Request.Cookies[CookieName] is { Length: > 0 } session) sessions.End(session);
            context.Response.Cookies.Delete(CookieName, new CookieOptions { Path = Path, Secure = context.Request.IsHttps, HttpOnly = true, SameSite = SameSiteMode.Strict });
            return Results.Redirect(SignInPath);
        }).ExcludeFromDescription().DisableAntiforgery();
    }

    /// <summary>A readable form carrying a valid anti-forgery token, else the page saying why (400, never a 5xx).</summary>
    private static async Task<IResult?> CheckedForm(HttpContext context, IAntiforgery antiforgery)
    {
        if (!context.Request.HasFormContentType)
            return Message("Send the form of this page (application/x-www-form-urlencoded).", HttpStatusCode.BadRequest);
        try
        {
            // read once here, where a malformed or oversized form can be told apart; the anti-forgery check reuses it
            await context.Request.ReadFormAsync(context.RequestAborted);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // malformed, oversized, an unknown charset: the sender's fault, never a 5xx
            return Message("The form could not be read: " + e.Message, HttpStatusCode.BadRequest);
        }
        return await antiforgery.IsRequestValidAsync(context)
            ? null
            : Message("The form expired or came from another page: open the page again and send it from there.", HttpStatusCode.BadRequest);
    }

    private static IResult SignInPage(HttpContext context, IAntiforgery antiforgery, string? error, HttpStatusCode status = HttpStatusCode.OK) => Page(
        "sign in", status,
        $$"""
        <p>Sign in with an admin API key (Cdp:Admin:ApiKeys, role Admin).</p>
        {{Error(error)}}
        <form method="post" action="{{SignInPath}}">{{TokenField(context, antiforgery)}}<input type="password" name="{{FormField}}" autocomplete="current-password" autofocus>
        <input type="submit" value="Sign in"></form>
        """);

    private static IResult SignOutPage(HttpContext context, IAntiforgery antiforgery) => Page("sign out", HttpStatusCode.OK,
        $$"""
        <form method="post" action="{{SignOutPath}}">{{TokenField(context, antiforgery)}}<input type="submit" value="Sign out"></form>
        """);

    private static IResult Message(string message, HttpStatusCode status) => Page("refused", status,
        $"""{Error(message)}<p><a href="{SignInPath}">Sign in</a></p>""");

    private static string Error(string? error) => error is null ? "" : $"<p class=\"e\">{WebUtility.HtmlEncode(error)}</p>";

    private static string TokenField(HttpContext context, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        return $"<input type=\"hidden\" name=\"{WebUtility.HtmlEncode(tokens.FormFieldName)}\" value=\"{WebUtility.HtmlEncode(tokens.RequestToken)}\">";
    }

    private static IResult Page(string title, HttpStatusCode status, string body) => Results.Content(
        $$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Cdp jobs: {{title}}</title>
        <style>body{font-family:sans-serif;max-width:26rem;margin:4rem auto}input{width:100%;padding:.5rem;margin:.5rem 0}p.e{color:#b00}</style></head>
        <body><h1>Cdp jobs</h1>
        {{body}}</body></html>
        """, "text/html; charset=utf-8", statusCode: (int)status);
}
