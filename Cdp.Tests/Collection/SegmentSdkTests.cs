using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Tests.Support;

namespace Cdp.Tests.Collection;

/// <summary>
/// The real @segment/analytics-node SDK (pinned in Cdp.Tests/Node/package.json, installed by `npm ci` there,
/// which .ci/run does) against the host on loopback.
/// </summary>
public sealed class SegmentSdkTests
{
    [Fact]
    public async Task Analytics_node_identify_track_page_group_alias_arrive_exactly_once_with_their_fields()
    {
        NodePackages.Require("@segment/analytics-node");
        using var host = new CdpHost();
        var runId = Guid.NewGuid().ToString("N")[..8];

        var (exitCode, stdout, stderr) = await NodePackages.RunAsync("segment-client.mjs", host.ServerAddress.TrimEnd('/'), CdpHost.WriteKey, runId);
        exitCode.Should().Be(0, stderr);
        stdout.Should().Contain("flushed");
        var sdkMessageIds = stdout.Split('\n').Where(l => l.StartsWith('{'))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("messageId").GetString()).ToList();
        sdkMessageIds.Should().HaveCount(5);

        var events = host.Service<IEventLog>().ReadAfter(0, 100);
        events.Select(e => e.MessageId).Should().BeEquivalentTo(sdkMessageIds, "each SDK call arrives exactly once under its own messageId");
        var byType = events.ToDictionary(e => JsonDocument.Parse(e.Json).RootElement.GetProperty("type").GetString()!, e => JsonDocument.Parse(e.Json).RootElement);
        byType.Keys.Should().BeEquivalentTo(["identify", "track", "page", "group", "alias"]);
        byType["identify"].GetProperty("traits").GetProperty("email").GetString().Should().Be($"jane-{runId}@example.com");
        byType["identify"].GetProperty("anonymousId").GetString().Should().Be($"anon-{runId}");
        byType["track"].GetProperty("event").GetString().Should().Be("Appointment Booked");
        byType["track"].GetProperty("properties").GetProperty("value").GetDouble().Should().Be(120.5);
        byType["track"].GetProperty("context").GetProperty("library").GetProperty("name").GetString().Should().Be("@segment/analytics-node");
        byType["page"].GetProperty("name").GetString().Should().Be("Pricing");
        byType["page"].GetProperty("properties").GetProperty("path").GetString().Should().Be("/pricing");
        byType["group"].GetProperty("groupId").GetString().Should().Be($"clinic-{runId}");
        byType["alias"].GetProperty("previousId").GetString().Should().Be($"anon-{runId}");
        foreach (var e in events) e.Source.Should().Be("web");
    }
}
