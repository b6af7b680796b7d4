using Cdp.Modules.Shared.Storage;
using System.Text.Json;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Tests.Support;
using CsCheck;
using FluentAssertions;
using LiteDB;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Profiles;

public sealed class ProfileChangeViewTests
{
    /// <summary>LiteDB only, whatever CDP_TEST_PROVIDER says: reads the batch's uncommitted writes on the processor's thread, which only LiteDB's thread-bound transaction shows; participants use the in-memory view on both.</summary>
    private const string LiteDbOnlyBecause = "reads the batch's uncommitted writes on the processor's thread, which only LiteDB's thread-bound transaction shows; participants use the in-memory view on both";

    /// <summary>Compares each change's in-memory view with the profile read back inside the same transaction.</summary>
    private sealed class ComparingParticipant(Func<IProfileReader> reader) : IProfileBatchParticipant
    {
        public int Compared;
        public List<string> Differences { get; } = [];

        public void OnBatch(ProfileBatch batch, IUnitOfWork tx)
        {
            foreach (var change in batch.Changes)
            {
                if (change.Kind is not (ProfileChangeKind.Created or ProfileChangeKind.Updated)) continue;
                change.After.Should().NotBeNull("the processor gives every created or updated profile its view");
                var fromMemory = System.Text.Json.JsonSerializer.Serialize(change.After!());
                var readBack = System.Text.Json.JsonSerializer.Serialize(reader().Get(change.ProfileId));
                if (fromMemory != readBack) Differences.Add($"{change.ProfileId}:\n  memory {fromMemory}\n  stored {readBack}");
                Compared++;
            }
        }

        public void OnReset(IUnitOfWork tx) { }
    }

    [Fact]
    public async Task A_changed_profiles_view_from_the_batch_equals_the_profile_read_back_in_the_same_transaction()
    {
        IServiceProvider? services = null;
        var participant = new ComparingParticipant(() => services!.GetRequiredService<IProfileReader>());
        using var plain = CdpHost.LiteDbOnly(LiteDbOnlyBecause, new Dictionary<string, string?> { ["Cdp:Profiles:BatchSize"] = "7", ["Cdp:Profiles:CatchUpBatchSize"] = "7" });
        using var host = plain.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IProfileBatchParticipant>(participant)));
        services = host.Services;
        var events = RebuildPropertyTests.Event.Array[120].Generate(new PCG(3, 5), null, out _);
        var log = host.Services.GetRequiredService<Cdp.Modules.Collection.EventLog.EventLogWriter>();
        await log.SubmitAsync(events.Select(json => new Cdp.Modules.Collection.Ingest.AcceptedEvent("web",
            JsonDocument.Parse(json).RootElement.GetProperty("messageId").GetString()!, System.Text.Encoding.UTF8.GetBytes(json))).ToList(), []);
        await host.Services.GetRequiredService<IProfileProcessor>()
            .WaitForCheckpointAsync(host.Services.GetRequiredService<Cdp.Modules.Collection.Contracts.IEventLog>().LastSequence, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(60));

        participant.Compared.Should().BeGreaterThan(50);
        participant.Differences.Should().BeEmpty();
    }
}
