using System.Globalization;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Tests.Support;

namespace Cdp.Tests.Collection;

/// <summary>
/// The real @rudderstack/rudder-sdk-node SDK (pinned in Cdp.Tests/Node, driven by rudderstack-client.mjs) against the
/// host on loopback: gzip bodies, Basic auth, and event times sent as originalTimestamp + sentAt (never timestamp).
/// </summary>
public sealed class RudderStackNodeSdkTests
{
    /// <summary>
    /// The skew correction (receivedAt - sentAt) also holds the time a batch spends between the SDK stamping sentAt and Cdp
    /// receiving it: seconds when the machine is loaded (7.8 s seen at the end of a full run). Far below the 40 days that tell
    /// the client's time from receivedAt.
    /// </summary>
    private static readonly TimeSpan TransportDelay = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Rudder_sdk_node_delivers_every_call_type_gzipped_once_each_with_the_originalTimestamp_as_event_time()
    {
        NodePackages.Require("@rudderstack/rudder-sdk-node");
        using var host = new CdpHost();
        var runId = Guid.NewGuid().ToString("N")[..8];
        // 40 days ago: stored as receivedAt it would count in every "last 30 days" rule
        var trackTime = DateTimeOffset.UtcNow.AddDays(-40).AddMinutes(-7);
        var trackIso = trackTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

        var (exitCode, stdout, stderr) = await NodePackages.RunAsync("rudderstack-client.mjs", host.ServerAddress.TrimEnd('/'), CdpHost.WriteKey, runId, trackIso);
        exitCode.Should().Be(0, stderr + stdout);
        stdout.Should().Contain("flushed");
        var sdk = stdout.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        sdk.Select(m => m.GetProperty("type").GetString()).Should().BeEquivalentTo(["identify", "track", "page", "screen", "group", "alias"]);

        var events = host.Service<IEventLog>().ReadAfter(0, 100);
        events.Select(e => e.MessageId).Should().BeEquivalentTo(sdk.Select(m => m.GetProperty("messageId").GetString()), "each SDK call arrives exactly once under its own messageId");
        var byType = events.ToDictionary(e => JsonDocument.Parse(e.Json).RootElement.GetProperty("type").GetString()!, e => JsonDocument.Parse(e.Json).RootElement.Clone());
        foreach (var e in events) e.Source.Should().Be("web");

        var track = byType["track"];
        track.GetProperty("event").GetString().Should().Be("Appointment Booked");
        track.GetProperty("properties").GetProperty("value").GetDouble().Should().Be(120.5);
        DateTimeOffset.Parse(track.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture)
            .Should().BeCloseTo(trackTime, TransportDelay, "the event time is the client's originalTimestamp (corrected by sentAt), not receivedAt");
        track.GetProperty("originalTimestamp").GetString().Should().Be(trackIso, "the client's original is kept as sent");
        foreach (var m in sdk)
        {
            // the SDK's own originalTimestamp (call time) for the others: stored as the event time too
            var stored = byType[m.GetProperty("type").GetString()!];
            DateTimeOffset.Parse(stored.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture)
                .Should().BeCloseTo(DateTimeOffset.Parse(m.GetProperty("originalTimestamp").GetString()!, CultureInfo.InvariantCulture), TransportDelay);
        }

        byType["identify"].GetProperty("context").GetProperty("traits").GetProperty("email").GetString().Should().Be($"jane-{runId}@example.com");
        byType["identify"].GetProperty("anonymousId").GetString().Should().Be($"anon-{runId}");
        byType["page"].GetProperty("name").GetString().Should().Be("Pricing");
        byType["screen"].GetProperty("name").GetString().Should().Be("Booking");
        byType["group"].GetProperty("groupId").GetString().Should().Be($"clinic-{runId}");
        byType["alias"].GetProperty("previousId").GetString().Should().Be($"anon-{runId}");

        await host.Processed();
        var admin = host.AdminClient();
        (await admin.ProfileId($"anonymous_id:anon-{runId}")).Should().Be(await admin.ProfileId($"user_id:user-{runId}"));
    }
}
