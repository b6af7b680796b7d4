using Cdp.Modules.Scheduling.Storage;
using Hangfire.States;
using Hangfire.Storage;

namespace Cdp.Tests.Scheduling;

public sealed class JobStorageTransactionTests : IDisposable
{
    private readonly JobStorageScope _scope = new();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public void A_commit_that_fails_half_way_leaves_nothing_behind()
    {
        using var c = _scope.Connect();
        var job = _scope.CreateJob(c);
        var tx = (LiteDbWriteTransaction)c.CreateWriteTransaction();
        tx.SetJobState(job, new EnqueuedState("default"));
        tx.AddToQueue("default", job);
        tx.AddToSet("s", "v");
        tx.IncrementCounter("c");
        tx.InsertToList("l", "x");
        tx.SetRangeInHash("h", [new("f", "v")]);
        tx.Add((_, _) => throw new IOException("injected failure"));
        tx.AddToSet("s", "after");

        var commit = () => tx.Commit();
        commit.Should().Throw<IOException>().WithMessage("injected failure");

        var e = (JobStorageConnection)c;
        c.GetStateData(job).Should().BeNull();
        _scope.Storage.GetMonitoringApi().EnqueuedCount("default").Should().Be(0);
        c.GetAllItemsFromSet("s").Should().BeEmpty();
        e.GetCounter("c").Should().Be(0);
        e.GetAllItemsFromList("l").Should().BeEmpty();
        c.GetAllEntriesFromHash("h").Should().BeNull();
    }

    [Fact]
    public void A_failing_commit_does_not_undo_commits_that_shared_its_batch()
    {
        // Many writers at once share group commits; the failing ones must not take the others down.
        Parallel.For(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            using var c = _scope.Connect();
            var tx = (LiteDbWriteTransaction)c.CreateWriteTransaction();
            tx.AddToSet("all", i.ToString());
            tx.IncrementCounter("count");
            if (i % 3 == 0)
            {
                tx.Add((_, _) => throw new InvalidOperationException("injected"));
                Assert.Throws<InvalidOperationException>(() => tx.Commit());
            }
            else
            {
                tx.Commit();
            }
        });
        using var check = _scope.Connect();
        var expected = Enumerable.Range(0, 200).Where(i => i % 3 != 0).Select(i => i.ToString()).ToList();
        check.GetAllItemsFromSet("all").Should().BeEquivalentTo(expected);
        ((JobStorageConnection)check).GetCounter("count").Should().Be(expected.Count);
    }

    [Fact]
    public void Transaction_created_jobs_exist_only_after_commit()
    {
        using var c = _scope.Connect();
        var tx = (JobStorageTransaction)c.CreateWriteTransaction();
        var id = tx.CreateJob(Hangfire.Common.Job.FromExpression(() => SampleJobs.Noop()), new Dictionary<string, string?> { ["p"] = "1" }, DateTime.UtcNow, TimeSpan.FromHours(1));
        tx.SetJobParameter(id, "q", "2");
        c.GetJobData(id).Should().BeNull();
        tx.Commit();
        c.GetJobParameter(id, "p").Should().Be("1");
        c.GetJobParameter(id, "q").Should().Be("2");
    }

    [Fact]
    public async Task Locks_are_exclusive_across_connections_reentrant_within_one_and_released_on_dispose()
    {
        using var first = _scope.Connect();
        using var second = _scope.Connect();
        var outer = first.AcquireDistributedLock("resource", TimeSpan.FromSeconds(1));
        var inner = first.AcquireDistributedLock("resource", TimeSpan.Zero); // reentrant

        var blocked = () => second.AcquireDistributedLock("resource", TimeSpan.FromMilliseconds(100));
        blocked.Should().Throw<DistributedLockTimeoutException>();
        second.AcquireDistributedLock("other", TimeSpan.Zero).Dispose();

        inner.Dispose();
        blocked.Should().Throw<DistributedLockTimeoutException>("the outer acquisition still holds it");
        outer.Dispose();
        using (second.AcquireDistributedLock("resource", TimeSpan.Zero)) { }

        // A waiter gets the lock as soon as the holder releases it.
        var held = first.AcquireDistributedLock("resource", TimeSpan.Zero);
        var waiter = Task.Run(() => second.AcquireDistributedLock("resource", TimeSpan.FromSeconds(10)));
        Thread.Sleep(50);
        waiter.IsCompleted.Should().BeFalse();
        held.Dispose();
        (await waiter.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
    }

    [Fact]
    public void Locks_die_with_their_connection_and_their_transaction()
    {
        var connection = _scope.Connect();
        connection.AcquireDistributedLock("r", TimeSpan.Zero);
        connection.Dispose();
        using var other = _scope.Connect();
        using (other.AcquireDistributedLock("r", TimeSpan.Zero)) { }

        var tx = (JobStorageTransaction)other.CreateWriteTransaction();
        tx.AcquireDistributedLock("t", TimeSpan.Zero);
        using var third = _scope.Connect();
        var blocked = () => third.AcquireDistributedLock("t", TimeSpan.Zero);
        blocked.Should().Throw<DistributedLockTimeoutException>();
        tx.Commit();
        tx.Dispose();
        using (third.AcquireDistributedLock("t", TimeSpan.Zero)) { }
    }

    [Fact]
    public void Expired_jobs_sets_hashes_lists_and_counters_are_removed_and_persisted_ones_kept()
    {
        using var c = _scope.Connect();
        var expiring = _scope.CreateJob(c);
        var persisted = _scope.CreateJob(c);
        var tx = (JobStorageTransaction)c.CreateWriteTransaction();
        tx.ExpireJob(expiring, TimeSpan.FromMinutes(1));
        tx.PersistJob(persisted);
        tx.AddToSet("s", "1");
        tx.ExpireSet("s", TimeSpan.FromMinutes(1));
        tx.AddToSet("s", "2"); // joins the expiring key
        tx.AddToSet("kept-set", "1");
        tx.SetRangeInHash("h", [new("a", "b")]);
        tx.ExpireHash("h", TimeSpan.FromMinutes(1));
        tx.InsertToList("l", "1");
        tx.ExpireList("l", TimeSpan.FromMinutes(1));
        tx.InsertToList("kept-list", "1");
        tx.ExpireList("kept-list", TimeSpan.FromMinutes(1));
        tx.PersistList("kept-list");
        tx.IncrementCounter("c", TimeSpan.FromMinutes(1));
        tx.IncrementCounter("kept-counter");
        tx.Commit();

        var e = (JobStorageConnection)c;
        e.GetSetTtl("s").Should().BeCloseTo(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1));
        e.GetHashTtl("h").Should().BeGreaterThan(TimeSpan.Zero);
        e.GetListTtl("kept-list").Should().Be(Timeout.InfiniteTimeSpan);
        _scope.Storage.RemoveExpired().Should().Be(0);

        _scope.Clock.Advance(TimeSpan.FromMinutes(2));
        e.GetSetTtl("s").Should().Be(TimeSpan.Zero);
        _scope.Storage.RemoveExpired().Should().Be(6, "1 job, 2 set rows, 1 hash row, 1 list row, 1 counter");
        c.GetJobData(expiring).Should().BeNull();
        c.GetJobData(persisted).Should().NotBeNull("the job is persisted... but created with a 1 hour expiry, then persisted");
        c.GetAllItemsFromSet("s").Should().BeEmpty();
        c.GetAllItemsFromSet("kept-set").Should().Equal("1");
        c.GetAllEntriesFromHash("h").Should().BeNull();
        e.GetAllItemsFromList("l").Should().BeEmpty();
        e.GetAllItemsFromList("kept-list").Should().Equal("1");
        e.GetCounter("c").Should().Be(0);
        e.GetCounter("kept-counter").Should().Be(1);
    }
}
