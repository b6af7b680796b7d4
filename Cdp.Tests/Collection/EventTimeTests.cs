using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Tests.Segments;
using Cdp.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Tests.Collection;

/// <summary>One host whose clock stands still, so every row knows its receivedAt exactly.</summary>
public sealed class EventTimeHost : IDisposable
{
    public static readonly DateTimeOffset ReceivedAt = new(2026, 3, 31, 12, 0, 0, TimeSpan.Zero);

    public CdpHost Host { get; } = new(services: s => s.AddSingleton<TimeProvider>(new ManualClock(ReceivedAt)));

    public void Dispose() => Host.Dispose();
}

/// <summary>
/// The event-time rule, row by row: timestamp, else originalTimestamp, corrected by sentAt, ISO-8601 variants and epoch
/// numbers read, a result outside [2000, receivedAt + 1 day] stored at receivedAt, the client's value kept as sent.
/// </summary>
public sealed class EventTimeTests(EventTimeHost fixture) : IClassFixture<EventTimeHost>
{
    private const string Received = "received";
    private const string DeadLetter = "dead letter";

    /// <summary>(the call's time fields, the stored timestamp (or Received / DeadLetter), the stored originalTimestamp as JSON text or null).</summary>
    public static TheoryData<string, string, string?> Rows => new()
    {
        // ISO timestamps, with and without sentAt
        { "\"timestamp\":\"2026-03-01T10:00:00Z\"", "2026-03-01T10:00:00Z", "\"2026-03-01T10:00:00Z\"" },
        { "\"timestamp\":\"2026-03-01T10:00:00+02:00\"", "2026-03-01T08:00:00Z", "\"2026-03-01T10:00:00+02:00\"" },
        { "\"timestamp\":\"2026-03-31T11:00:00Z\",\"sentAt\":\"2026-03-31T11:00:10Z\"", "2026-03-31T11:59:50Z", "\"2026-03-31T11:00:00Z\"" },
        // RudderStack: originalTimestamp + sentAt, no timestamp; the client's value kept as sent
        { "\"originalTimestamp\":\"2026-02-19T09:00:00.123Z\",\"sentAt\":\"2026-02-19T09:00:05.123Z\"", "2026-03-31T11:59:55Z", "\"2026-02-19T09:00:00.123Z\"" },
        { "\"originalTimestamp\":\"2026-02-19T09:00:00Z\"", "2026-02-19T09:00:00Z", "\"2026-02-19T09:00:00Z\"" },
        // both sent: timestamp is the time, the client's originalTimestamp is not overwritten
        { "\"timestamp\":\"2026-03-30T10:00:00Z\",\"originalTimestamp\":\"2026-03-30T09:59:00Z\"", "2026-03-30T10:00:00Z", "\"2026-03-30T09:59:00Z\"" },
        // ISO variants: no offset = UTC, a space for T, 9 fraction digits, date only
        { "\"timestamp\":\"2026-03-01T10:00:00\"", "2026-03-01T10:00:00Z", "\"2026-03-01T10:00:00\"" },
        { "\"timestamp\":\"2026-03-01 10:00:00.123456789+01:00\"", "2026-03-01T09:00:00.1234567Z", "\"2026-03-01 10:00:00.123456789+01:00\"" },
        { "\"timestamp\":\"2026-03-01T10:00:00.5Z\"", "2026-03-01T10:00:00.5Z", "\"2026-03-01T10:00:00.5Z\"" },
        { "\"timestamp\":\"2026-03-01\"", "2026-03-01T00:00:00Z", "\"2026-03-01\"" },
        // Unix epoch: seconds or milliseconds, numbers or digit strings
        { "\"timestamp\":1772359200", "2026-03-01T10:00:00Z", "1772359200" },
        { "\"timestamp\":1772359200123", "2026-03-01T10:00:00.123Z", "1772359200123" },
        { "\"timestamp\":1772359200.5", "2026-03-01T10:00:00.5Z", "1772359200.5" },
        { "\"timestamp\":\"1772359200000\"", "2026-03-01T10:00:00Z", "\"1772359200000\"" },
        { "\"originalTimestamp\":1774958400000,\"sentAt\":1774958410000", "2026-03-31T11:59:50Z", "1774958400000" },
        // out of range: stored at receivedAt, the client's value kept; never a 500
        { "\"timestamp\":\"0001-01-01T00:00:00Z\",\"sentAt\":\"9999-12-31T23:59:59Z\"", Received, "\"0001-01-01T00:00:00Z\"" },
        { "\"timestamp\":\"9999-12-31T23:59:59.9999999Z\",\"sentAt\":\"0001-01-01T00:00:00Z\"", Received, "\"9999-12-31T23:59:59.9999999Z\"" },
        { "\"timestamp\":\"9999-12-31T23:59:59Z\"", Received, "\"9999-12-31T23:59:59Z\"" },
        { "\"timestamp\":\"1999-12-31T23:59:59Z\"", Received, "\"1999-12-31T23:59:59Z\"" },
        { "\"timestamp\":0", Received, "0" },
        { "\"timestamp\":\"2026-04-02T12:00:01Z\"", Received, "\"2026-04-02T12:00:01Z\"" },
        { "\"timestamp\":\"2026-04-01T11:00:00Z\"", "2026-04-01T11:00:00Z", "\"2026-04-01T11:00:00Z\"" },
        // same clock error on both: the correction gives receivedAt, in range
        { "\"timestamp\":\"0001-01-01T00:00:00Z\",\"sentAt\":\"0001-01-01T00:00:00Z\"", Received, "\"0001-01-01T00:00:00Z\"" },
        // an unreadable sentAt costs only the correction
        { "\"timestamp\":\"2026-03-01T10:00:00Z\",\"sentAt\":\"soon\"", "2026-03-01T10:00:00Z", "\"2026-03-01T10:00:00Z\"" },
        { "\"timestamp\":\"2026-03-01T10:00:00Z\",\"sentAt\":{\"at\":1}", "2026-03-01T10:00:00Z", "\"2026-03-01T10:00:00Z\"" },
        { "\"timestamp\":\"2026-03-01T10:00:00Z\",\"sentAt\":1e308", "2026-03-01T10:00:00Z", "\"2026-03-01T10:00:00Z\"" },
        // no client time at all
        { "\"sentAt\":\"2026-03-31T11:00:00Z\"", Received, null },
        { "\"timestamp\":null", Received, null },
        // unreadable client times are dead letters naming the field (the caller still gets 200)
        { "\"timestamp\":\"last tuesday\"", DeadLetter, null },
        { "\"timestamp\":1e300", DeadLetter, null },
        { "\"timestamp\":-1e20", DeadLetter, null },
        { "\"timestamp\":true", DeadLetter, null },
        { "\"originalTimestamp\":\"31/12/2024\"", DeadLetter, null },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Each_time_rule_stores_the_expected_timestamp_and_keeps_the_client_value(string fields, string expected, string? original)
    {
        var messageId = "time-" + Guid.NewGuid().ToString("N");
        var body = $$"""{"userId":"u-time","event":"Order Completed","messageId":"{{messageId}}",{{fields}}}""";
        var response = await fixture.Host.TrackingClient().PostAsync("/v1/track", TrackingApiTests.Json(body));
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());

        var stored = fixture.Host.Service<IEventLog>().ReadAfter(0, 100_000)
            .Select(e => JsonDocument.Parse(e.Json).RootElement.Clone())
            .SingleOrDefault(e => e.GetProperty("messageId").GetString() == messageId);
        if (expected == DeadLetter)
        {
            stored.ValueKind.Should().Be(JsonValueKind.Undefined, "an unreadable client time is not stored as an event");
            var dead = await fixture.Host.AdminClient().GetFromJsonAsync<JsonElement>("/api/collection/dead-letters?limit=500");
            dead.GetProperty("items").EnumerateArray().Should().Contain(d => d.GetProperty("raw").GetString()!.Contains(messageId));
            return;
        }
        stored.ValueKind.Should().Be(JsonValueKind.Object);
        stored.GetProperty("receivedAt").GetDateTimeOffset().Should().Be(EventTimeHost.ReceivedAt);
        var want = expected == Received ? EventTimeHost.ReceivedAt : DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture);
        stored.GetProperty("timestamp").GetDateTimeOffset().Should().Be(want);
        if (original is null) stored.TryGetProperty("originalTimestamp", out _).Should().BeFalse();
        else stored.GetProperty("originalTimestamp").GetRawText().Should().Be(original);
        // sentAt is kept as the client sent it, readable or not
        using var sent = JsonDocument.Parse("{" + fields + "}");
        if (sent.RootElement.TryGetProperty("sentAt", out var sentAt)) stored.GetProperty("sentAt").GetRawText().Should().Be(sentAt.GetRawText());
        else stored.TryGetProperty("sentAt", out _).Should().BeFalse();
    }

    [Fact]
    public async Task A_batch_with_year_1_and_year_9999_times_stores_every_event_the_valid_ones_at_their_time()
    {
        var run = Guid.NewGuid().ToString("N");
        var body = $$"""
            {"batch":[
              {"type":"track","userId":"b-1","event":"A","messageId":"{{run}}-1","timestamp":"2026-03-30T10:00:00Z"},
              {"type":"track","userId":"b-2","event":"B","messageId":"{{run}}-2","timestamp":"0001-01-01T00:00:00Z","sentAt":"9999-12-31T23:59:59Z"},
              {"type":"track","userId":"b-3","event":"C","messageId":"{{run}}-3","originalTimestamp":"9999-12-31T23:59:59Z"},
              {"type":"track","userId":"b-4","event":"D","messageId":"{{run}}-4","originalTimestamp":"2026-03-30T11:00:00Z"}
            ],"sentAt":"9999-12-31T23:59:59Z"}
            """;
        var response = await fixture.Host.TrackingClient().PostAsync("/v1/batch", TrackingApiTests.Json(body));
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());

        var stored = fixture.Host.Service<IEventLog>().ReadAfter(0, 100_000)
            .Select(e => JsonDocument.Parse(e.Json).RootElement.Clone())
            .Where(e => e.GetProperty("messageId").GetString()!.StartsWith(run, StringComparison.Ordinal))
            .ToDictionary(e => e.GetProperty("event").GetString()!, e => e.GetProperty("timestamp").GetDateTimeOffset());
        // the batch's sentAt (year 9999) applies to every call without its own: each correction lands out of range
        stored.Should().BeEquivalentTo(new Dictionary<string, DateTimeOffset>
        {
            ["A"] = EventTimeHost.ReceivedAt, ["B"] = EventTimeHost.ReceivedAt, ["C"] = EventTimeHost.ReceivedAt, ["D"] = EventTimeHost.ReceivedAt,
        });
    }

    [Fact]
    public async Task A_batch_sent_at_corrects_each_call_that_has_no_own_sent_at()
    {
        // rudder-sdk-node also puts a "timestamp" (its flush time) on the envelope: it is not any event's time
        var run = Guid.NewGuid().ToString("N");
        var body = $$"""
            {"batch":[
              {"type":"track","userId":"c-1","event":"A","messageId":"{{run}}-1","originalTimestamp":"2026-03-31T10:00:00Z"},
              {"type":"track","userId":"c-2","event":"B","messageId":"{{run}}-2","originalTimestamp":"2026-03-31T10:00:00Z","sentAt":"2026-03-31T10:00:30Z"}
            ],"sentAt":"2026-03-31T10:01:00Z","timestamp":"2026-03-31T10:01:00Z"}
            """;
        (await fixture.Host.TrackingClient().PostAsync("/v1/batch", TrackingApiTests.Json(body))).StatusCode.Should().Be(HttpStatusCode.OK);
        var stored = fixture.Host.Service<IEventLog>().ReadAfter(0, 100_000)
            .Select(e => JsonDocument.Parse(e.Json).RootElement.Clone())
            .Where(e => e.GetProperty("messageId").GetString()!.StartsWith(run, StringComparison.Ordinal))
            .ToDictionary(e => e.GetProperty("event").GetString()!, e => e);
        stored["A"].GetProperty("timestamp").GetDateTimeOffset().Should().Be(EventTimeHost.ReceivedAt - TimeSpan.FromMinutes(1));
        stored["A"].GetProperty("sentAt").GetString().Should().Be("2026-03-31T10:01:00Z");
        stored["B"].GetProperty("timestamp").GetDateTimeOffset().Should().Be(EventTimeHost.ReceivedAt - TimeSpan.FromSeconds(30));
        stored["B"].GetProperty("sentAt").GetString().Should().Be("2026-03-31T10:00:30Z");
    }
}
