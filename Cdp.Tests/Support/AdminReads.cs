using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Cdp.Tests.Support;

/// <summary>Reads of a running host's admin API that process tests compare states with.</summary>
public static class AdminReads
{
    /// <summary>Waits until the processor has processed every logged event; returns the log head.</summary>
    public static async Task<long> CaughtUp(HttpClient admin)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var status = await admin.GetFromJsonAsync<JsonElement>("/api/profiles/processor");
            var head = status.GetProperty("logHead").GetInt64();
            if (status.GetProperty("checkpoint").GetInt64() >= head) return head;
            DateTime.UtcNow.Should().BeBefore(deadline, "processing must catch up");
            await Task.Delay(50);
        }
    }

    /// <summary>Every live profile as the admin API lists it (id, times, event count, traits), in id order.</summary>
    public static async Task<string> ProfilesOf(HttpClient admin)
    {
        var all = new StringBuilder();
        string? cursor = null;
        do
        {
            var page = await admin.GetFromJsonAsync<JsonElement>("/api/profiles?limit=500" + (cursor is null ? "" : "&cursor=" + cursor));
            foreach (var p in page.GetProperty("profiles").EnumerateArray()) all.AppendLine(p.GetRawText());
            cursor = page.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        } while (cursor is not null);
        return all.ToString();
    }
}
