using System.Diagnostics;
using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing.Patterns;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Logging;

namespace Cdp.Modules.Governance.Audit;

/// <summary>
/// The one place admin actions are audited: outermost in the pipeline (a startup filter, registered by the first module),
/// so it sees every request, and after the request it reads who authentication found, which endpoint routing chose and the
/// final status. Audited: every request under /api and /jobs that is not a GET/HEAD/OPTIONS (including dashboard sign-ins
/// and refused attempts), and GETs of personal data (<see cref="PersonalDataReads"/>). Requests without a valid key are
/// counted and recorded at a bounded rate (<see cref="UnauthenticatedRequests"/>); requests to unknown routes are only
/// tallied. What is kept of a request: <see cref="AuditRecord"/>; personal values only as keyed hashes (<see cref="AuditKey"/>).
/// </summary>
[Service]
internal sealed partial class AuditMiddleware(AuditTrail trail, AuditKey key, UnauthenticatedRequests unauthenticated, ILogger<AuditMiddleware> log)
    : IStartupFilter
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
        "key", "apikey", "api_key", "token", "access_token", "secret", "password", "signature", "writekey",
    };

    /// <summary>
    /// Query parameters that shape a listing (paging, time range, filters by configuration names): kept in clear unless the
    /// value looks like an identifier. Every other parameter (value=, identifier=, q=, email=, ...) is kept only as a keyed
    /// hash: a new parameter is hashed until it is named here.
    /// </summary>
    private static readonly HashSet<string> PlainParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        "after", "before", "take", "skip", "limit", "offset", "from", "to", "at", "since", "until", "afterSequence",
        "status", "state", "kind", "type", "source", "map", "event", "trait", "field", "full", "discarded", "dryRun",
        "sort", "order", "window", "minWeight", "actor", "segment", "destination", "sync", "include", "reason", "format", "page",
    };

    /// <summary>
    /// Route parameters that name configuration or Cdp's own records (a segment key, a sync name, a receipt, a merge, a log
    /// sequence, a job): kept in clear unless the value looks like an identifier. Others ({reference}, {profileId},
    /// {groupId}, any new one) are kept only as keyed hashes.
    /// </summary>
    private static readonly HashSet<string> PlainRouteValues = new(StringComparer.OrdinalIgnoreCase)
    {
        "key", "name", "id", "sequence", "hash", "receiptId", "mergeId", "path",
    };

    /// <summary>Paths, route values and queries of records with a key are cut here.</summary>
    private const int MaxStoredLength = 512;

    /// <summary>Requests without a valid key keep only this much of their path (and no query): enough to see what was tried.</summary>
    public const int MaxUnauthenticatedPathLength = 64;

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            if (!IsUnderAuditedRoot(context.Request))
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
                Observe(context, status, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        });
        next(app);
    };

    private static bool IsUnderAuditedRoot(HttpRequest request) =>
        AuditedRoots.Any(r => request.Path.StartsWithSegments(r, StringComparison.OrdinalIgnoreCase));

    public static bool IsAudited(HttpRequest request)
    {
        if (!IsUnderAuditedRoot(request)) return false;
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method))) return true;
        return HttpMethods.IsGet(request.Method)
            && !NotPersonal.Any(p => request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase))
            && (PersonalDataReads.Any(p => request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase))
                || request.Path.Value!.Contains("/export", StringComparison.OrdinalIgnoreCase));
    }

    private void Observe(HttpContext context, int status, double ms)
    {
        try
        {
            var authenticated = context.User.Identity?.IsAuthenticated == true;
            var endpoint = context.GetEndpoint() as RouteEndpoint;
            var address = UnauthenticatedRequests.AddressOf(context.Connection.RemoteIpAddress);
            if (!authenticated) unauthenticated.Count(endpoint?.RoutePattern.RawText ?? UnauthenticatedRequests.Unmatched, address);
            if (IsAudited(context.Request))
            {
                // unknown routes are tallied, never recorded one by one (each would be a record of the sender's choosing)
                var oneByOne = endpoint is not null;
                if ((authenticated && oneByOne) || unauthenticated.TryRecord(address, oneByOne))
                    Record(context, endpoint, authenticated, address, status, ms);
            }
            if (unauthenticated.TakeSummary() is { } summary) WriteSummary(summary);
        }
        catch (Exception ex)
        {
            // The action already happened: a failing audit write must not turn its answer into an error.
            log.LogError(ex, "Could not write the audit record of {Method} {Path}", context.Request.Method, context.Request.Path);
        }
    }

    public void WriteSummary((long Count, DateTime Since, string Addresses) summary) =>
        trail.Append(AuditTrail.NoKey, null, "*", AuditTrail.SummaryPath, new Dictionary<string, string>(), null, 0, 0,
            $"requests not recorded one by one since {summary.Since.ToString("O", CultureInfo.InvariantCulture)}",
            Truncate(summary.Addresses), summary.Count);

    private void Record(HttpContext context, RouteEndpoint? endpoint, bool authenticated, string address, int status, double ms)
    {
        var user = context.User;
        var actor = authenticated ? user.Identity!.Name ?? "(unnamed)" : AuditTrail.NoKey;
        var role = authenticated ? user.FindFirst(ClaimTypes.Role)?.Value : null;
        var action = endpoint?.RoutePattern.RawText ?? endpoint?.DisplayName;
        if (!authenticated)
        {
            // no key: a short path (the route pattern with its values, cut), the address, nothing of the query
            var path = endpoint is null ? "" : StoredPath(endpoint.RoutePattern, context.Request.RouteValues);
            trail.Append(actor, null, context.Request.Method, Cut(path, MaxUnauthenticatedPathLength), new Dictionary<string, string>(), null,
                status, ms, action is null ? null : Cut(action, MaxUnauthenticatedPathLength), address);
            return;
        }
        var route = context.Request.RouteValues
            .Where(p => p.Value is not null)
            .ToDictionary(p => p.Key, p => Truncate(StoredValue(p.Key, Text(p.Value), PlainRouteValues)));
        trail.Append(actor, role, context.Request.Method, Truncate(StoredPath(endpoint!.RoutePattern, context.Request.RouteValues)), route,
            StoredQuery(context.Request.Query), status, ms, action is null ? null : Truncate(action));
    }

    private static string Text(object? value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";

    /// <summary>The route pattern with each parameter replaced by its value as stored (clear or keyed hash).</summary>
    private string StoredPath(RoutePattern pattern, RouteValueDictionary values)
    {
        var path = new StringBuilder();
        foreach (var segment in pattern.PathSegments)
        {
            path.Append('/');
            foreach (var part in segment.Parts)
            {
                switch (part)
                {
                    case RoutePatternLiteralPart literal: path.Append(literal.Content); break;
                    case RoutePatternSeparatorPart separator: path.Append(separator.Content); break;
                    case RoutePatternParameterPart parameter:
                        if (values.TryGetValue(parameter.Name, out var v) && v is not null)
                            path.Append(StoredValue(parameter.Name, Text(v), PlainRouteValues));
                        break;
                }
            }
        }
        return path.Length == 0 ? "/" : path.ToString();
    }

    private string? StoredQuery(IQueryCollection query)
    {
        if (query.Count == 0) return null;
        var parts = query.SelectMany(p => p.Value.Select(v =>
            Uri.EscapeDataString(p.Key) + "=" + (SecretParameters.Contains(p.Key) ? "***" : Uri.EscapeDataString(StoredValue(p.Key, v ?? "", PlainParameters)))));
        return Truncate(string.Join('&', parts));
    }

    /// <summary>A value of a parameter named in <paramref name="plain"/>: in clear unless it looks like an identifier; any other: hashed.</summary>
    public string StoredValue(string name, string value, IReadOnlySet<string> plain) =>
        plain.Contains(name) ? Redact(value) : Protect(value);

    /// <summary>
    /// Identifiers are personal data that erasure must not leave behind: an identifier reference (<c>email:jane@x.org</c>),
    /// an e-mail address or a phone number is kept only as a keyed hash (<c>email:#3f1a...</c>); other values as they are.
    /// </summary>
    public string Redact(string value)
    {
        if (value.Length == 0) return value;
        if (IdentifierReference().IsMatch(value) && !value.StartsWith("p_", StringComparison.Ordinal)) return Protect(value);
        if (value.Contains('@') || PhoneLike().IsMatch(value)) return key.Hash(value);
        return value;
    }

    /// <summary>
    /// Always hashed: "type:value" keeps its type in clear (<c>user_id:#…</c>); anything else becomes <c>#…</c>. Except
    /// Cdp's own profile numbers (<c>p_123</c>): a pseudonym that names nothing once the profile is erased, kept so that
    /// "who read profile p_123" stays answerable at a glance.
    /// </summary>
    public string Protect(string value)
    {
        if (value.Length == 0 || ProfileId().IsMatch(value)) return value;
        var m = IdentifierReference().Match(value);
        return m.Success ? m.Groups[1].Value + ":" + key.Hash(m.Groups[2].Value) : key.Hash(value);
    }

    /// <summary>A record written before keyed hashes, rewritten by today's rules (see <see cref="AuditTrail.UpgradeLegacyRecords"/>).</summary>
    public AuditRecord RewriteLegacy(AuditRecord d)
    {
        var route = d.Route.ToDictionary(p => p.Key, p => Truncate(StoredValue(p.Key, p.Value, PlainRouteValues)), StringComparer.Ordinal);
        var action = d.Action;
        var oldPath = d.Path;
        string path;
        try
        {
            if (action is not { Length: > 0 } || action[0] != '/') throw new RoutePatternException(action ?? "", "no route pattern");
            var values = new RouteValueDictionary();
            foreach (var (name, value) in d.Route) values[name] = value;
            path = StoredPath(RoutePatternFactory.Parse(action), values);
        }
        catch (RoutePatternException)
        {
            // no pattern to tell literal from value: only the root is kept ("/api/…")
            var root = oldPath.Split('/', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            path = root is null ? "/" : "/" + root + "/…";
        }
        var query = d.Query;
        if (query is not null)
        {
            var parts = query.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(part =>
            {
                var eq = part.IndexOf('=', StringComparison.Ordinal);
                var name = Uri.UnescapeDataString(eq < 0 ? part : part[..eq]);
                var value = eq < 0 ? "" : Uri.UnescapeDataString(part[(eq + 1)..]);
                return Uri.EscapeDataString(name) + "=" + (value == "***" || SecretParameters.Contains(name) ? "***" : Uri.EscapeDataString(StoredValue(name, value, PlainParameters)));
            });
            query = Truncate(string.Join('&', parts));
        }
        return d with { Route = route, Path = Truncate(path), Query = query };
    }

    internal static string Truncate(string value) => Cut(value, MaxStoredLength);

    private static string Cut(string value, int max) => value.Length <= max ? value : value[..max] + "…";

    [GeneratedRegex(@"^([a-z][a-z0-9_]{0,39}):(.+)$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex IdentifierReference();

    [GeneratedRegex(@"^p_[0-9]{1,19}$", RegexOptions.CultureInvariant)]
    private static partial Regex ProfileId();

    [GeneratedRegex(@"^\+?[0-9][0-9 ().-]{6,}$", RegexOptions.CultureInvariant)]
    private static partial Regex PhoneLike();
}
