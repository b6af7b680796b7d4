using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Cdp.Modules.Shared.Http;

/// <summary>
/// The answer of /health/ready: the status word first (<c>Healthy</c>, <c>Unhealthy</c>: what load balancers match), then
/// one line per failing check with its reason; and which host runs the profile processor in headers (several hosts on
/// one PostgreSQL): <c>Cdp-Host</c> (this host), <c>Cdp-Processor-Leader</c> and <c>Cdp-Processor-Leading</c>
/// (<c>true</c> on the leader), from the processor check's data.
/// </summary>
public static class ReadinessResponse
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var data = report.Entries.Values.SelectMany(e => e.Data).ToList();
        foreach (var (key, header) in new[] { ("host", "Cdp-Host"), ("leader", "Cdp-Processor-Leader"), ("leading", "Cdp-Processor-Leading") })
            if (data.FirstOrDefault(d => d.Key == key) is { Value: { } value })
                context.Response.Headers[header] = value is bool b ? (b ? "true" : "false") : Ascii(value.ToString() ?? "");
        context.Response.ContentType = "text/plain; charset=utf-8";
        var text = report.Status.ToString();
        foreach (var (name, entry) in report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy))
            text += $"\n{name}: {entry.Description ?? entry.Exception?.Message ?? entry.Status.ToString()}";
        return context.Response.WriteAsync(text);
    }

    /// <summary>Header values are ASCII: a machine name beyond it keeps its ASCII letters, '?' for the others.</summary>
    private static string Ascii(string value) => string.Concat(value.Select(c => c is >= ' ' and <= '~' ? c : '?'));
}
