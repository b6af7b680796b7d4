using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;

namespace Cdp.Tests.Profiles;

/// <summary>The profile timeline lists events by when they happened (newest first), not by when they arrived.</summary>
public sealed class TimelineOrderTests : IDisposable
{
    private readonly CdpHost _host = new();

    public void Dispose() => _host.Dispose();

    private static string Track(string user, string name, DateTime at) =>
        $$"""{"type":"track","userId":"{{user}}","event":"{{name}}","timestamp":"{{at:O}}"}""";

    private async Task<List<JsonElement>> ReadAll(string reference, int limit)
    {
        var admin = _host.AdminClient();
        var all = new List<JsonElement>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await admin.GetFromJsonAsync<JsonElement>(
                $"/api/profiles/{Uri.EscapeDataString(reference)}/timeline?limit={limit}" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            all.AddRange(page.GetProperty("events").EnumerateArray());
            cursor = page.GetProperty("nextCursor").GetString();
            (++pages).Should().BeLessThan(100, "paging must end");
        } while (cursor is not null);
        return all;
    }

    private static IEnumerable<string?> Names(IEnumerable<JsonElement> events) => events.Select(e => e.GetProperty("event").GetString());

    [Fact]
    public async Task An_event_sent_later_with_an_older_timestamp_is_listed_below_newer_ones_with_its_arrival_time()
    {
        var today = DateTime.UtcNow.AddHours(-1);
        var web = _host.TrackingClient();
        await web.Send("track", Track("u1", "Morning", today.AddHours(-1)));
        await web.Send("track", Track("u1", "Noon", today));
        await web.Send("track", Track("u1", "Yesterday page", today.AddDays(-1))); // sent last, happened first
        await _host.Processed();

        var events = await ReadAll("user_id:u1", 50);
        Names(events).Should().Equal("Noon", "Morning", "Yesterday page");
        var late = events[2];
        late.GetProperty("timestamp").GetDateTime().ToUniversalTime().Should().Be(today.AddDays(-1));
        late.GetProperty("receivedAt").GetDateTime().ToUniversalTime().Should().BeAfter(today.AddDays(-1).AddHours(1), "it arrived today");
        late.GetProperty("sequence").GetInt64().Should().BeGreaterThan(events[0].GetProperty("sequence").GetInt64(), "it arrived last");
    }

    [Fact]
    public async Task Paging_across_out_of_order_and_equal_times_loses_and_repeats_nothing()
    {
        var start = DateTime.UtcNow.Date.AddDays(-3);
        // arrival order differs from event order; E3, E4 and E5 happened at the same moment (ties: the later arrival first)
        int[] hours = [5, 1, 3, 3, 3, 0, 7, 2, 6, 4];
        var web = _host.TrackingClient();
        await web.SendBatch(hours.Select((h, i) => Track("u2", "E" + i, start.AddHours(h))));
        await web.Send("track", Track("u2", "Late", start.AddHours(3))); // a tie with E2..E4, arriving last
        await _host.Processed();

        var expected = hours.Select((h, i) => (Name: "E" + i, Hour: h, Order: i)).Append((Name: "Late", Hour: 3, Order: hours.Length))
            .OrderByDescending(e => e.Hour).ThenByDescending(e => e.Order).Select(e => e.Name).ToList();
        foreach (var limit in new[] { 1, 2, 3, 4, 50 })
            Names(await ReadAll("user_id:u2", limit)).Should().Equal(expected, $"pages of {limit}");
    }

    [Fact]
    public async Task A_profile_written_before_event_times_were_kept_is_listed_in_event_time_order()
    {
        var day = DateTime.UtcNow.Date.AddDays(-2);
        var web = _host.TrackingClient();
        await web.Send("track", Track("u3", "Second", day.AddHours(2)));
        await web.Send("track", Track("u3", "First", day.AddHours(1)));
        await web.Send("track", Track("u3", "Third", day.AddHours(3)));
        await _host.Processed();
        // as an older version wrote it: the timeline index holds sequences only ("tl"), no event times ("tlt")
        var db = _host.Service<CdpDatabase>();
        db.InTransaction(d =>
        {
            var profiles = d.GetCollection("profiles");
            foreach (var doc in profiles.FindAll().ToList().Where(p => p.ContainsKey("tlt")))
            {
                doc.Remove("tlt");
                profiles.Update(doc);
            }
            return true;
        });

        Names(await ReadAll("user_id:u3", 2)).Should().Equal("Third", "Second", "First");
    }

    [Fact]
    public async Task A_cursor_that_is_not_a_timeline_position_is_refused()
    {
        var web = _host.TrackingClient();
        await web.Send("track", Track("u4", "Only", DateTime.UtcNow.AddMinutes(-5)));
        await _host.Processed();
        var response = await _host.AdminClient().GetAsync("/api/profiles/user_id:u4/timeline?cursor=12");
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }
}
