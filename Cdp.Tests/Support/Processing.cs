using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Support;

/// <summary>Sending events through the real Tracking API and reading profiles back through the Profile API.</summary>
public static class Processing
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static async Task Send(this HttpClient tracking, string type, string json)
    {
        var response = await tracking.PostAsync("/v1/" + type, new StringContent(json, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    public static async Task SendBatch(this HttpClient tracking, IEnumerable<string> items)
    {
        var body = "{\"batch\":[" + string.Join(",", items) + "]}";
        var response = await tracking.PostAsync("/v1/batch", new StringContent(body, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Waits until the processor has processed everything in the log.</summary>
    public static async Task Processed(this CdpHost host)
    {
        var head = host.Service<IEventLog>().LastSequence;
        await host.Service<IProfileProcessor>().WaitForCheckpointAsync(head, CancellationToken.None).WaitAsync(Patience);
    }

    public static async Task<JsonElement?> Profile(this HttpClient admin, string reference, string? part = null)
    {
        var response = await admin.GetAsync("/api/profiles/" + Uri.EscapeDataString(reference) + (part is null ? "" : "/" + part));
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return null;
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static async Task<string> ProfileId(this HttpClient admin, string reference) =>
        (await admin.Profile(reference))?.GetProperty("id").GetString() ?? throw new InvalidOperationException($"no profile for {reference}");

    public static IReadOnlyList<string> Identifiers(this JsonElement profile) =>
        profile.GetProperty("identifiers").EnumerateArray().Select(i => i.GetProperty("type").GetString() + ":" + i.GetProperty("value").GetString()).Order(StringComparer.Ordinal).ToList();
}
