using System.Text;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Pipeline.Processing;
using Cdp.Modules.Pipeline.Processing.LiteDb;
using Cdp.Modules.Pipeline.Processing.PostgreSql;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Tests.Storage;

/// <summary>The processor's checkpoint and set-aside events behave the same on both providers (same cases, same assertions).</summary>
public sealed class ProcessorStoreTests : IAsyncDisposable
{
    private static readonly DateTime At = new(2026, 12, 3, 10, 0, 0, DateTimeKind.Utc);
    private readonly ProviderDatabases _databases = new();

    public static TheoryData<string> Providers => ProviderDatabases.Providers;

    private async Task<(IProcessorStore Store, IUnitOfWorkFactory Transactions)> On(string provider)
    {
        var db = await _databases.OpenAsync(provider, new PipelinePostgresSchema());
        return (db.Lite is { } lite ? new LiteProcessorStore(lite) : new PostgresProcessorStore(db.Postgres!), db.Transactions);
    }

    private static LoggedEvent Event(long sequence, string messageId) =>
        new(sequence, "web", messageId, At.AddMinutes(-1), Encoding.UTF8.GetBytes("""{"type":"track"}"""));

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_checkpoint_that_moved_since_the_processor_read_it_refuses_the_batch_and_nothing_of_it_commits(string provider)
    {
        var (store, tx) = await On(provider);
        tx.InTransaction(t => store.WriteCheckpoint(t, 0, 100));

        var stale = () => tx.InTransaction(t =>
        {
            store.RecordFailure(t, Event(150, "m-150"), "track", "Bought", new FailureCause("X", "boom", ""), At);
            store.WriteCheckpoint(t, 50, 200); // this processor last saw 50: another one moved it to 100
        });
        stale.Should().Throw<CheckpointMovedException>().Which.Stored.Should().Be(100);
        store.Checkpoint().Should().Be(100);
        store.FailureIndex().Should().BeEmpty("the batch's other writes roll back with it");
        var fresh = () => tx.InTransaction(t => store.WriteCheckpoint(t, 0, 10)); // a first batch, when one already committed
        fresh.Should().Throw<CheckpointMovedException>();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task The_checkpoint_is_zero_at_first_and_then_what_the_last_transaction_wrote(string provider)
    {
        var (store, tx) = await On(provider);
        store.Checkpoint().Should().Be(0);
        tx.InTransaction(t => store.WriteCheckpoint(t, 0, 500));
        tx.InTransaction(t => store.WriteCheckpoint(t, 500, 1_000));
        store.Checkpoint().Should().Be(1_000);
        var failing = () => tx.InTransaction(t =>
        {
            store.WriteCheckpoint(t, 1_000, 2_000);
            throw new IOException("the batch failed after its checkpoint was written");
        });
        failing.Should().Throw<IOException>();
        store.Checkpoint().Should().Be(1_000, "the checkpoint rolls back with its batch");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_failure_recorded_twice_keeps_its_first_time_and_counts_two_attempts(string provider)
    {
        var (store, tx) = await On(provider);
        tx.InTransaction(t => store.RecordFailure(t, Event(7, "m\u00007"), "track", "Bad \u0000 Name", new FailureCause("System.FormatException", "first", "at A"), At));
        tx.InTransaction(t => store.RecordFailure(t, Event(7, "m\u00007"), "track", "Bad \u0000 Name", new FailureCause("System.InvalidOperationException", "second", "at B"), At.AddHours(1)));
        tx.InTransaction(t => store.RecordFailure(t, Event(9, "m9"), "identify", null, new FailureCause("System.Exception", "x", "at C"), At));

        var f = store.Failure(7)!;
        f.Should().BeEquivalentTo(new ProcessorFailureView(7, "web", "m\u00007", "track", "Bad \u0000 Name", At.AddMinutes(-1), "System.InvalidOperationException",
            "second", "at B", At, At.AddHours(1), 2, false, null, null));
        store.Failure(9)!.Event.Should().BeNull();
        store.Failure(8).Should().BeNull();
        store.FailureIndex().Should().BeEquivalentTo([(7L, false), (9L, false)]);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Discarded_failures_leave_the_list_and_are_paged_apart(string provider)
    {
        var (store, tx) = await On(provider);
        foreach (var seq in new long[] { 3, 5, 8, 13 })
            tx.InTransaction(t => store.RecordFailure(t, Event(seq, "m" + seq), "track", "E", new FailureCause("E", "m", "s"), At));

        tx.InTransaction(t => store.DiscardFailure(t, 5, "ops", At.AddDays(1))).Should().BeTrue();
        tx.InTransaction(t => store.DiscardFailure(t, 5, "ops", At.AddDays(2))).Should().BeFalse("it is discarded already");
        tx.InTransaction(t => store.DiscardFailure(t, 4, "ops", At)).Should().BeFalse("there is no such failure");

        store.Failures(0, 2, discarded: false).Select(f => f.Sequence).Should().Equal(3, 8);
        store.Failures(8, 10, discarded: false).Select(f => f.Sequence).Should().Equal(13);
        var discarded = store.Failures(0, 10, discarded: true).Should().ContainSingle().Subject;
        (discarded.Sequence, discarded.DiscardedBy, discarded.DiscardedAt).Should().Be((5L, "ops", At.AddDays(1)));

        tx.InTransaction(t => store.RemoveFailure(t, 3));
        tx.InTransaction(t => store.DeleteFailures(t, [8, 99])).Should().Be(1);
        store.AllFailures().Select(f => f.Sequence).Should().Equal(5, 13);
        store.FailureIndex().Should().BeEquivalentTo([(5L, true), (13L, false)]);
    }

    public ValueTask DisposeAsync() => _databases.DisposeAsync();
}
