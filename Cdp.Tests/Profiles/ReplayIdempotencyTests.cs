using Cdp.Modules.Shared.Storage.LiteDb;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using CsCheck;
using LiteDB;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Profiles;

public sealed class ReplayIdempotencyTests
{
    /// <summary>LiteDB only, whatever CDP_TEST_PROVIDER says: fails a batch inside LiteDB's transaction and compares its documents.</summary>
    private const string LiteDbOnlyBecause = "fails a batch inside LiteDB's transaction and compares its documents";

    /// <summary>Counts events per profile in its own collection, inside the batch transaction; fails one batch once, after the profile writes.</summary>
    private sealed class FailingOnceParticipant : IProfileBatchParticipant
    {
        public int Calls;
        public int Failures;

        public void OnBatch(ProfileBatch batch, IUnitOfWork tx)
        {
            var counts = tx.Lite().GetCollection("test_counts");
            foreach (var change in batch.Changes)
            {
                var doc = counts.FindById(change.ProfileId) ?? new BsonDocument { ["_id"] = change.ProfileId, ["n"] = 0 };
                doc["n"] = doc["n"].AsInt32 + change.Events.Count;
                counts.Upsert(doc);
            }
            if (++Calls == 3 && Failures == 0)
            {
                Failures++;
                throw new IOException("disk hiccup in the middle of a batch");
            }
        }

        public void OnReset(IUnitOfWork tx) => tx.Lite().GetCollection("test_counts").DeleteAll();
    }

    [Fact]
    public async Task A_batch_that_fails_mid_transaction_is_replayed_without_counting_anything_twice()
    {
        var participant = new FailingOnceParticipant();
        using var plain = CdpHost.LiteDbOnly(LiteDbOnlyBecause, new Dictionary<string, string?> { ["Cdp:Profiles:BatchSize"] = "5", ["Cdp:Profiles:CatchUpBatchSize"] = "5" });
        using var host = plain.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IProfileBatchParticipant>(participant)));
        var events = RebuildPropertyTests.Event.Array[40].Generate(new PCG(7, 11), null, out _);
        var wrapper = new HostServices(host.Services);
        await wrapper.Append(events);
        await wrapper.Processed();

        participant.Failures.Should().Be(1, "the third batch failed once and was retried");
        var db = host.Services.GetRequiredService<CdpDatabase>();
        var incremental = ProjectionSnapshot.Take(db);
        var counted = db.Collection("test_counts").FindAll().ToDictionary(d => d["_id"].AsString, d => d["n"].AsInt32);
        var profiles = db.Collection("profiles").Find(Query.EQ("into", BsonValue.Null)).ToDictionary(d => ProfileIds.Format(d["_id"].AsInt64), d => (int)d["n"].AsInt64);
        foreach (var (id, n) in profiles) counted.GetValueOrDefault(id).Should().BeLessThanOrEqualTo(n);
        counted.Values.Sum().Should().Be(profiles.Values.Sum(), "each event reached the participant exactly once in committed batches");

        await host.Services.GetRequiredService<IProfileProcessor>().ReprocessAsync(CancellationToken.None);
        await wrapper.Processed();
        ProjectionSnapshot.Take(db).Should().Be(incremental, "the state after the failure equals a run without it");
    }

    private sealed class HostServices(IServiceProvider services)
    {
        public async Task Append(IEnumerable<string> events)
        {
            var accepted = events.Select(json => new Cdp.Modules.Collection.Ingest.AcceptedEvent("web",
                System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("messageId").GetString()!, System.Text.Encoding.UTF8.GetBytes(json))).ToList();
            await services.GetRequiredService<Cdp.Modules.Collection.EventLog.EventLogWriter>().SubmitAsync(accepted, []);
        }

        public Task Processed() => services.GetRequiredService<IProfileProcessor>()
            .WaitForCheckpointAsync(services.GetRequiredService<Cdp.Modules.Collection.Contracts.IEventLog>().LastSequence, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(60));
    }
}
