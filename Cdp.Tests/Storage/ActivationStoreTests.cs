using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Activation.Engine;
using Cdp.Modules.Activation.Engine.LiteDb;
using Cdp.Modules.Activation.Engine.PostgreSql;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Tests.Storage;

/// <summary>Activation's member state, run history and vendor erasures behave the same on both providers (same cases, same assertions).</summary>
public sealed class ActivationStoreTests : IAsyncDisposable
{
    private static readonly DateTime At = new(2026, 12, 4, 12, 0, 0, DateTimeKind.Utc);
    private readonly ProviderDatabases _databases = new();

    public static TheoryData<string> Providers => ProviderDatabases.Providers;

    private async Task<(IActivationStore Store, IUnitOfWorkFactory Transactions)> On(string provider)
    {
        var db = await _databases.OpenAsync(provider, new ActivationPostgresSchema());
        return (db.Lite is { } lite ? new LiteActivationStore(lite) : new PostgresActivationStore(db.Postgres!), db.Transactions);
    }

    private static SyncRunReport Report(long id, string sync, string status = SyncRunStatus.Succeeded) => new(id, sync, "schedule", status, false, At, At.AddMinutes(1), 60,
        new SyncCounts(3, 3, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0), null, ["ann@x.io was refused"],
        [new SyncSampleRow("add", "p_1", "ann@x.io", new Dictionary<string, string?> { ["FNAME"] = "Ann", ["LNAME"] = null }),
         new SyncSampleRow("add", "p_2", "bob@x.io", new Dictionary<string, string?> { ["FNAME"] = "Bob" })],
        """{"members":[{"email_address":"ann@x.io"},{"email_address":"bob@x.io"}]}""");

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Member_state_is_committed_per_batch_and_a_member_the_destination_had_is_remembered_when_it_leaves(string provider)
    {
        var (store, _) = await On(provider);
        store.Commit("news", [
            new MemberCommit("p_1", new MemberRecord("ann@x.io", 11, true, false, null)),
            new MemberCommit("p_2", new MemberRecord("bob\u0000@x.io", 12, false, true, "invalid \u0000 address")),
            new MemberCommit("p_3", new MemberRecord("cat@x.io", 13, true, false, null)),
        ]);
        store.Commit("other", [new MemberCommit("p_1", new MemberRecord("ann@x.io", 99, true, false, null))]);

        store.Members("news").Should().BeEquivalentTo(new Dictionary<string, MemberRecord>
        {
            ["p_1"] = new("ann@x.io", 11, true, false, null), ["p_2"] = new("bob\u0000@x.io", 12, false, true, "invalid \u0000 address"),
            ["p_3"] = new("cat@x.io", 13, true, false, null),
        });
        store.CountMembers("news").Should().Be((2L, 1L));

        store.Commit("news", [new MemberCommit("p_1", null), new MemberCommit("p_2", null), new MemberCommit("p_3", new MemberRecord("cat@x.io", 14, true, false, null))]);
        store.Members("news").Keys.Should().Equal("p_3");
        store.FindDeparted(["news"], ["p_1", "p_2"]).Should().Equal([("news", "ann@x.io")], "p_2 never reached the destination");
        store.FindMembers(["news", "other"], ["p_1", "p_3"]).Select(m => (m.Sync, m.Record.Hash)).Should().BeEquivalentTo([("news", 14L), ("other", 99L)]);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task An_erasure_removes_current_and_departed_records_and_returns_the_addresses_sent(string provider)
    {
        var (store, tx) = await On(provider);
        store.Commit("news", [new MemberCommit("p_1", new MemberRecord("ann@x.io", 1, true, false, null)), new MemberCommit("p_9", new MemberRecord("zed@x.io", 1, true, false, null))]);
        store.Commit("news", [new MemberCommit("p_1", null)]);
        store.Commit("news", [new MemberCommit("p_1", new MemberRecord("ann.new@x.io", 2, false, false, null))]);
        store.Commit("ads", [new MemberCommit("p_1", new MemberRecord("ann@x.io", 3, true, false, null))]);

        var (records, sent) = tx.InTransaction(t => store.EraseMembers(t, ["news", "ads"], ["p_1"]));

        records.Should().Be(3, "the current news record, the departed one, and the ads record");
        sent.Should().BeEquivalentTo([("news", "ann@x.io"), ("ads", "ann@x.io")], "ann.new@x.io was never acknowledged");
        store.Members("news").Keys.Should().Equal("p_9");
        store.FindDeparted(["news"], ["p_1"]).Should().BeEmpty();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_destinations_remote_values_are_kept_per_sync(string provider)
    {
        var (store, _) = await On(provider);
        store.Remote("news", "segmentId").Should().BeNull();
        store.SetRemote("news", "segmentId", "4711");
        store.SetRemote("news", "segmentId", "4712");
        store.SetRemote("ads", "audienceId", "act_1");
        store.Remote("news", "segmentId").Should().Be("4712");
        store.Remote("ads", "segmentId").Should().BeNull();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Runs_are_recorded_when_they_start_and_end_and_an_interrupted_one_is_marked_failed(string provider)
    {
        var (store, _) = await On(provider);
        var first = store.StartRun("news", "schedule", false, At);
        var second = store.StartRun("news", "manual", true, At.AddMinutes(5));
        second.Should().BeGreaterThan(first);
        store.Run(first)!.Status.Should().Be(SyncRunStatus.Running);

        store.FinishRun(Report(first, "news"), keepPerSync: 5);
        store.MarkInterruptedRuns("interrupted: the process stopped");

        store.Run(first).Should().BeEquivalentTo(Report(first, "news"));
        var cut = store.Run(second)!;
        (cut.Status, cut.StoppedBecause, cut.Trigger, cut.Full).Should().Be((SyncRunStatus.Failed, "interrupted: the process stopped", "manual", true));
        store.Run(12345).Should().BeNull();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Only_the_newest_runs_of_a_sync_are_kept(string provider)
    {
        var (store, _) = await On(provider);
        var ids = Enumerable.Range(0, 4).Select(_ => store.StartRun("news", "schedule", false, At)).ToList();
        var other = store.StartRun("ads", "schedule", false, At);
        foreach (var id in ids) store.FinishRun(Report(id, "news"), keepPerSync: 2);
        store.FinishRun(Report(other, "ads"), keepPerSync: 2);
        store.LatestRuns("news", 10).Select(r => r.Id).Should().Equal(ids[3], ids[2]);
        store.LatestRuns("news", 1).Select(r => r.Id).Should().Equal(ids[3]);
        store.LatestRuns("ads", 10).Select(r => r.Id).Should().Equal(other);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_privacy_erasure_scrubs_the_person_from_run_history_in_its_transaction(string provider)
    {
        var (store, tx) = await On(provider);
        var id = store.StartRun("news", "schedule", false, At);
        store.FinishRun(Report(id, "news"), 10);

        var changed = tx.InTransaction(t => RunHistory.Scrub(store, t, new HashSet<string> { "p_1" }, ["ann@x.io"]));

        changed.Should().Be(1);
        var run = store.Run(id)!;
        run.Samples.Select(s => s.ProfileId).Should().Equal("p_2");
        run.Errors.Should().Equal($"{SyncEngine.ErasedPerson} was refused");
        run.FirstPayload.Should().NotContain("ann@x.io").And.Contain("bob@x.io");
        tx.InTransaction(t => RunHistory.Scrub(store, t, new HashSet<string> { "p_1" }, ["ann@x.io"])).Should().Be(0, "nothing of the person is left");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Vendor_erasures_are_staged_with_the_deletion_and_stay_open_until_every_destination_is_done(string provider)
    {
        var (store, tx) = await On(provider);
        ErasureEntry Entry(string destination) => new()
        {
            Destination = destination, Type = "Mailchimp", Next = At, Syncs = ["news"], Keys = ["ann\u0000@x.io"], Profiles = ["p_1"],
        };
        var rolledBack = () => tx.InTransaction<bool>(t =>
        {
            store.StageErasure(t, new ErasureReceipt("del-0", At, [Entry("mc")]));
            throw new IOException("the deletion failed");
        });
        rolledBack.Should().Throw<IOException>();
        store.Erasure("del-0").Should().BeNull("staged in the deletion's transaction, it went with it");

        tx.InTransaction(t =>
        {
            store.StageErasure(t, new ErasureReceipt("del-1", At, [Entry("mc"), Entry("files")]));
            return true;
        });
        store.OpenErasures().Should().Equal("del-1");
        var receipt = store.Erasure("del-1")!;
        receipt.Destinations.Should().BeEquivalentTo([Entry("mc"), Entry("files")]);

        var files = receipt.Destinations[1];
        (files.Status, files.Done, files.Keys, files.Files, files.Remote, files.Attempts) =
            ("rewritten", At.AddMinutes(1), [], ["a.csv"], new RemoteCopies("sftp.example.com", "/out", ["a.csv"]), 1);
        receipt.Destinations[0].Error = "HTTP 503";
        receipt.Destinations[0].Next = At.AddMinutes(2);
        store.SaveErasure(receipt);
        store.Erasure("del-1").Should().BeEquivalentTo(receipt);
        store.OpenErasures().Should().Equal("del-1");

        receipt.Destinations[0].Done = At.AddMinutes(3);
        store.SaveErasure(receipt);
        store.OpenErasures().Should().BeEmpty();
    }

    public ValueTask DisposeAsync() => _databases.DisposeAsync();
}
