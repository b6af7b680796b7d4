using System.Diagnostics;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Logging;

namespace Cdp.Modules.Governance.Audit;

/// <summary>
/// The one place admin actions are audited: outermost in the pipeline (a startup filter, registered by the first module),
/// so it sees every request, and after the request it reads who authentication found, which endpoint routing chose and the
/// final status. Audited: every request under /api and /jobs that is not a GET/HEAD/OPTIONS (including dashboard sign-ins
/// and refused attempts), and GETs of personal data (<see cref="PersonalDataReads"/>).
/// </summary>
[Service]
internal sealed partial class AuditMiddleware(AuditTrail trail, ILogger<AuditMiddleware> log) : IStartupFilter
{
    private static readonly string[] AuditedRoots = ["/api", "/jobs"];

    /// <summary>GETs that read a person's data: profiles, raw events, dead letters, identity paths, exports.</summary>
    private static readonly string[] PersonalDataReads =
    [
        "/api/profiles", "/api/segments/profiles", "/api/collection/events", "/api/collection/dead-letters",
        "/api/identity/why", "/api/identity/review", "/api/privacy",
    ];

    /// <summary>Reads under <see cref="PersonalDataReads"/> that hold no one's data (the overview page polls them).</summary>
    private static readonly string[] NotPersonal = ["/api/profiles/processor"];

    /// <summary>Query parameters whose value is never stored, whatever it looks like.</summary>
    private static readonly HashSet<string> SecretParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        "key", "apikey", "api_key", "token", "access_token", "secret", "password", "signature",
    };

    private const int MaxStoredLength = 512;

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            if (!IsAudited(context.Request))
            {
                await nextMiddleware(context);
                return;
            }
            var started = Stopwatch.GetTimestamp();
            var status = 500;
            try
            {
                await nextMiddleware(context);
                status = context.Response.StatusCode;
            }
            finally
            {
                Record(context, status, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        });
        next(app);
    };

    public static bool IsAudited(HttpRequest request)
    {
        if (!AuditedRoots.Any(r => request.Path.StartsWithSegments(r, StringComparison.OrdinalIgnoreCase))) return false;
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method))) return true;
        return HttpMethods.IsGet(request.Method)
            && !NotPersonal.Any(p => request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase))
            && (PersonalDataReads.Any(p => request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase))
                || request.Path.Value!.Contains("/export", StringComparison.OrdinalIgnoreCase));
    }

    private void Record(HttpContext context, int status, double ms)
    {
        try
        {
            var user = context.User;
            var authenticated = user.Identity?.IsAuthenticated == true;
            var actor = authenticated ? user.Identity!.Name ?? "(unnamed)" : "(none)";
            var role = authenticated ? user.FindFirst(ClaimTypes.Role)?.Value : null;
            var route = context.Request.RouteValues
                .Where(p => p.Value is not null)
                .ToDictionary(p => p.Key, p => Truncate(Redact(Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "")));
            var path = Truncate(string.Join('/', (context.Request.Path.Value ?? "").Split('/').Select(s => Redact(Uri.UnescapeDataString(s)))));
            var endpoint = context.GetEndpoint();
            var action = (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? endpoint?.DisplayName;
            trail.Append(actor, role, context.Request.Method, path, route, RedactQuery(context.Request.Query), status, ms, action is null ? null : Truncate(action));
        }
        catch (Exception ex)
        {
            // The action already happened: a failing audit write must not turn its answer into an error.
            log.LogError(ex, "Could not write the audit record of {Method} {Path}", context.Request.Method, context.Request.Path);
        }
    }

    private static string? RedactQuery(IQueryCollection query)
    {
        if (query.Count == 0) return null;
        var parts = query.SelectMany(p => p.Value.Select(v =>
            Uri.EscapeDataString(p.Key) + "=" + (SecretParameters.Contains(p.Key) ? "***" : Uri.EscapeDataString(Redact(v ?? "")))));
        return Truncate(string.Join('&', parts));
    }

    /// <summary>
    /// Identifiers are personal data that erasure must be able to remove: an identifier reference (<c>email:jane@x.org</c>),
    /// an e-mail address or a phone number is kept only as a short SHA-256 (<c>email:#3f1a...</c>), which still lets an auditor
    /// check "was this person's profile read" by hashing the value.
    /// </summary>
    public static string Redact(string value)
    {
        if (value.Length == 0) return value;
        var m = IdentifierReference().Match(value);
        if (m.Success && !value.StartsWith("p_", StringComparison.Ordinal)) return m.Groups[1].Value + ":#" + Hash(m.Groups[2].Value);
        if (value.Contains('@') || PhoneLike().IsMatch(value)) return "#" + Hash(value);
        return value;
    }

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..16];

    private static string Truncate(string value) => value.Length <= MaxStoredLength ? value : value[..MaxStoredLength] + "…";

    [GeneratedRegex(@"^([a-z][a-z0-9_]{0,39}):(.+)$", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierReference();

    [GeneratedRegex(@"^\+?[0-9][0-9 ().-]{6,}$", RegexOptions.CultureInvariant)]
    private static partial Regex PhoneLike();
}
