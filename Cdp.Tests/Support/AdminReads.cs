using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Cdp.Tests.Support;

/// <summary>Reads of a running host's admin API that process tests compare states with.</summary>
public static class AdminReads
{
    /// <summary>Waits until the processor has processed every logged event; returns the log head.
    /// With several hosts a host learns of another host's appends a moment later: pass the number of events
    /// the test knows were acknowledged (<paramref name="atLeast"/>) so a head not yet heard of is not taken as caught up.</summary>
    public static async Task<long> CaughtUp(HttpClient admin, long atLeast = 0)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var status = await admin.GetFromJsonAsync<JsonElement>("/api/profiles/processor");
            var head = status.GetProperty("logHead").GetInt64();
            if (head >= atLeast && status.GetProperty("checkpoint").GetInt64() >= head) return head;
            DateTime.UtcNow.Should().BeBefore(deadline, "processing must catch up");
            await Task.Delay(50);
        }
    }

    /// <summary>Every live profile as the admin API lists it (id, times, event count, traits), in id order.</summary>
    /// <summary>Every segment's members, in order, one line per segment ("key: p_1 p_2 ..."), for comparing two states.</summary>
    public static async Task<string> SegmentMembersOf(HttpClient admin)
    {
        var all = new StringBuilder();
        var segments = await admin.GetFromJsonAsync<JsonElement>("/api/segments");
        foreach (var key in segments.GetProperty("segments").EnumerateArray().Select(s => s.GetProperty("key").GetString()!).Order(StringComparer.Ordinal))
        {
            all.Append(key).Append(':');
            string? cursor = null;
            do
            {
                var page = await admin.GetFromJsonAsync<JsonElement>($"/api/segments/{key}/members?limit=1000" + (cursor is null ? "" : "&cursor=" + cursor));
                foreach (var m in page.GetProperty("members").EnumerateArray()) all.Append(' ').Append(m.GetString());
                cursor = page.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
            } while (cursor is not null);
            all.AppendLine();
        }
        return all.ToString();
    }

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
