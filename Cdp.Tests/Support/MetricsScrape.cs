using System.Text.RegularExpressions;

namespace Cdp.Tests.Support;

/// <summary>GET /metrics as the tests read it: the exporter's otel_scope_name label (the meter, e.g. "Cdp") taken out of each series.</summary>
internal static partial class MetricsScrape
{
    public static async Task<string> MetricsText(this HttpClient client)
    {
        using var response = await client.GetAsync("/metrics");
        response.EnsureSuccessStatusCode();
        return WithoutScope(await response.Content.ReadAsStringAsync());
    }

    public static string WithoutScope(string text) => EmptyLabels().Replace(ScopeLabel().Replace(text, ""), " ").Replace(",}", "}", StringComparison.Ordinal).Replace("{,", "{", StringComparison.Ordinal);

    [GeneratedRegex(@",?otel_scope_name=""[^""]*""")]
    private static partial Regex ScopeLabel();

    [GeneratedRegex(@"\{\} ")]
    private static partial Regex EmptyLabels();
}
