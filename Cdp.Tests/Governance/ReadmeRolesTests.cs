using System.Text.RegularExpressions;
using Cdp.Modules.Shared.Http;
using Cdp.Tests.Support;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cdp.Tests.Governance;

/// <summary>
/// The README's admin API table (endpoint | role | what) against the endpoints the app maps: every endpoint the table
/// names exists and needs the role the table gives it, and every /api endpoint is in the table.
/// </summary>
public sealed partial class ReadmeRolesTests
{
    private sealed record Documented(string Method, string Path, string Role, string Row);

    /// <summary>The repository's README.md, found upwards from the test output.</summary>
    internal static string Readme()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cdp.sln"))) return File.ReadAllText(Path.Combine(dir.FullName, "README.md"));
        }
        throw new FileNotFoundException("README.md beside Cdp.sln, above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"`([^`]+)`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex RouteParameter();

    /// <summary>/api/profiles/{p_123 or type:value}?x= and /api/profiles/{reference} both become /api/profiles/{}.</summary>
    private static string Shape(string path) => RouteParameter().Replace(path.Split('?')[0], "{}").TrimEnd('/');

    /// <summary>
    /// Rows of the endpoint | role | what table under "### Admin API". A cell names endpoints as `METHOD /path`; a bare `/path` after one is
    /// relative to a prefix of it (`/traits` after /api/profiles/{id}, `/syncs/{name}` after /api/activation/syncs),
    /// whichever names a mapped route. "Admin, Analyst" gives the roles of the row's `METHOD /path` entries in order.
    /// </summary>
    private static List<Documented> DocumentedEndpoints(ISet<(string Method, string Shape)> mapped)
    {
        var readme = Readme();
        var start = readme.IndexOf("### Admin API", StringComparison.Ordinal);
        start.Should().BeGreaterThan(0, "the README has an Admin API section");
        var end = readme.IndexOf("\n### ", start + 10, StringComparison.Ordinal);
        // only the rows of the table headed "| endpoint | role | what |" (the section holds others, e.g. the paging table)
        var table = readme.IndexOf("| endpoint | role | what |", start, end - start, StringComparison.Ordinal);
        table.Should().BeGreaterThan(0, "the Admin API section has the endpoint | role | what table");
        var rows = readme[table..end].Split('\n').Skip(2).TakeWhile(l => l.StartsWith('|')).Where(l => l.StartsWith("| `", StringComparison.Ordinal));
        var documented = new List<Documented>();
        foreach (var row in rows)
        {
            var cells = row.Split(" | ");
            var roles = cells[1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            string? method = null, parent = null;
            var full = -1;
            foreach (Match span in CodeSpan().Matches(cells[0]))
            {
                var text = span.Groups[1].Value;
                var space = text.IndexOf(' ');
                if (space > 0 && text[..space].All(char.IsUpper) && text[(space + 1)..].StartsWith('/'))
                {
                    method = text[..space];
                    parent = text[(space + 1)..];
                    full++;
                    documented.Add(new(method, Shape(parent), roles[Math.Min(full, roles.Length - 1)], row));
                }
                else if (text.StartsWith('/') && method is not null && parent is not null)
                {
                    var segments = Shape(parent).Split('/');
                    var candidates = Enumerable.Range(1, segments.Length).Reverse()
                        .Select(n => string.Join('/', segments[..n]) + Shape(text)).ToList();
                    var resolved = candidates.FirstOrDefault(c => mapped.Contains((method, c))) ?? candidates[0];
                    documented.Add(new(method, resolved, roles[Math.Min(full, roles.Length - 1)], row));
                }
            }
        }
        return documented;
    }

    private static string RoleOf(Endpoint endpoint)
    {
        var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).ToList();
        if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null) return "anonymous";
        if (policies.Contains(AdminAccess.AdminPolicy)) return "Admin";
        if (policies.Contains(AdminAccess.ReadPolicy)) return "Analyst";
        return policies.Count == 0 ? "anonymous" : string.Join("+", policies);
    }

    [Fact]
    public void Every_api_endpoint_needs_the_role_the_README_gives_it_and_every_one_is_documented()
    {
        using var host = new CdpHost();
        var endpoints = host.Service<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } r && r.TrimStart('/').StartsWith("api/", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => (Method: m, Shape: Shape("/" + e.RoutePattern.RawText!.TrimStart('/')), Role: RoleOf(e))))
            .ToList();
        var mapped = endpoints.Select(e => (e.Method, e.Shape)).ToHashSet();
        var documented = DocumentedEndpoints(mapped);
        documented.Count.Should().BeGreaterThan(40, "the README's admin API table lists the endpoints");

        var problems = new List<string>();
        foreach (var d in documented)
        {
            var actual = endpoints.Where(e => e.Method == d.Method && e.Shape == d.Path).Select(e => e.Role).Distinct().ToList();
            if (actual.Count == 0) problems.Add($"README names {d.Method} {d.Path}, which the app does not map (mapped there: " +
                string.Join(", ", endpoints.Where(e => e.Shape.StartsWith(d.Path[..d.Path.LastIndexOf('/')], StringComparison.Ordinal)).Select(e => $"{e.Method} {e.Shape}")) + ")");
            else if (!actual.SequenceEqual([d.Role])) problems.Add($"{d.Method} {d.Path}: README says {d.Role}, the endpoint requires {string.Join("/", actual)}");
        }
        foreach (var e in endpoints.Where(e => !documented.Any(d => d.Method == e.Method && d.Path == e.Shape)))
            problems.Add($"{e.Method} {e.Shape} ({e.Role}) is not in the README's admin API table");
        problems.Should().BeEmpty(string.Join("\n", problems));
    }
}
