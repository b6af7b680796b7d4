using System.Text.Json;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Tests.Segments;
using Cdp.Tests.Support;
using CsCheck;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Tests.Profiles;

public sealed class ReadAheadTests
{
    private static async Task<(string Snapshot, ProcessorStatus Status)> Process(IReadOnlyList<string> events, bool readAhead, string cached)
    {
        // tiny batches, so that most batches find the next one waiting in the log while they write
        using var host = new CdpHost(new Dictionary<string, string?>
        {
            ["Cdp:Profiles:BatchSize"] = "6", ["Cdp:Profiles:CatchUpBatchSize"] = "9", ["Cdp:Profiles:ReadAhead"] = readAhead ? "true" : "false",
            // no caches: the read-ahead reads every returning profile and node from the database; caches: it takes them out of the caches
            ["Cdp:Profiles:CachedProfiles"] = cached, ["Cdp:Identity:CachedNodes"] = cached,
        }, services: s => s.AddSingleton<TimeProvider>(new ManualClock(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero)))); // the same receivedAt in both runs
        var writer = host.Services.GetRequiredService<Cdp.Modules.Collection.EventLog.EventLogWriter>();
        // in commits of a few events while the processor runs: read-aheads find part of a batch and top it up later
        foreach (var chunk in events.Chunk(4))
            await writer.SubmitAsync(chunk.Select(json => new Cdp.Modules.Collection.Ingest.AcceptedEvent("web",
                JsonDocument.Parse(json).RootElement.GetProperty("messageId").GetString()!, System.Text.Encoding.UTF8.GetBytes(json))).ToList(), []);
        var processor = host.Services.GetRequiredService<IProfileProcessor>();
        await processor.WaitForCheckpointAsync(host.Services.GetRequiredService<Cdp.Modules.Collection.Contracts.IEventLog>().LastSequence, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(60));
        return (ProjectionSnapshot.Take(host.Services.GetRequiredService<Cdp.Modules.Shared.Storage.CdpDatabase>()), processor.Status);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("100000")]
    public async Task Reading_the_next_batch_ahead_gives_the_same_identities_and_profiles_as_one_thread(string cached)
    {
        var events = RebuildPropertyTests.Event.Array[300].Generate(new PCG(17, 23), null, out _);

        var (alone, aloneStatus) = await Process(events, readAhead: false, cached);
        var (ahead, aheadStatus) = await Process(events, readAhead: true, cached);

        aloneStatus.ReadAheadProfilesUsed.Should().Be(0);
        aheadStatus.ReadAheadProfilesUsed.Should().BeGreaterThan(10, "batches took profiles read while the previous batch wrote");
        ahead.Should().Be(alone);
    }
}
