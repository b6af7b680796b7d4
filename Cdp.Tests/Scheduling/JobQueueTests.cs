using System.Collections.Concurrent;
using Cdp.Modules.Scheduling.Storage;
using Hangfire.States;
using Hangfire.Storage;

namespace Cdp.Tests.Scheduling;

public sealed class JobQueueTests : IDisposable
{
    private readonly JobStorageScope _scope = new();

    public void Dispose() => _scope.Dispose();

    private void Enqueue(IStorageConnection c, string queue, IEnumerable<string> jobIds)
    {
        using var tx = c.CreateWriteTransaction();
        foreach (var id in jobIds) tx.AddToQueue(queue, id);
        tx.Commit();
    }

    private static IFetchedJob? TryFetch(IStorageConnection c, string[] queues, int waitMs = 200)
    {
        using var cts = new CancellationTokenSource(waitMs);
        try
        {
            return c.FetchNextJob(queues, cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Eight_threads_fetch_each_of_8000_jobs_exactly_once()
    {
        const int Threads = 8, JobsPerThread = 1_000, Total = Threads * JobsPerThread;
        using (var c = _scope.Connect())
        {
            // Queue entries need no job document: the queue hands out ids, which is what is checked here.
            for (var batch = 0; batch < Total / 500; batch++)
                Enqueue(c, "default", Enumerable.Range(batch * 500 + 1, 500).Select(i => i.ToString()));
        }

        var fetched = new ConcurrentBag<string>();
        var workers = Enumerable.Range(0, Threads).Select(_ => Task.Factory.StartNew(() =>
        {
            using var c = _scope.Connect();
            while (TryFetch(c, ["default"], waitMs: 300) is { } job)
            {
                fetched.Add(job.JobId);
                if (fetched.Count % 2 == 0)
                {
                    job.RemoveFromQueue();
                }
                else
                {
                    using var tx = (JobStorageTransaction)c.CreateWriteTransaction();
                    tx.RemoveFromQueue(job); // transactional acknowledge
                    tx.Commit();
                }
                job.Dispose();
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers);

        fetched.Should().HaveCount(Total);
        fetched.Distinct().Should().HaveCount(Total);
        _scope.Storage.GetMonitoringApi().EnqueuedCount("default").Should().Be(0);
        _scope.Storage.GetMonitoringApi().FetchedCount("default").Should().Be(0);
    }

    [Fact]
    public void Queues_are_served_in_the_order_asked_and_fifo_within_a_queue()
    {
        using var c = _scope.Connect();
        Enqueue(c, "low", ["1", "2"]);
        Enqueue(c, "high", ["3", "4"]);
        var order = new List<string>();
        while (TryFetch(c, ["high", "low"], 50) is { } job)
        {
            order.Add(job.JobId);
            job.RemoveFromQueue();
        }
        order.Should().Equal("3", "4", "1", "2");
    }

    [Fact]
    public void A_requeued_or_disposed_job_is_fetched_again()
    {
        using var c = _scope.Connect();
        Enqueue(c, "default", ["7"]);
        var first = TryFetch(c, ["default"])!;
        TryFetch(c, ["default"], 50).Should().BeNull("the job is held by the first worker");
        first.Requeue();
        var second = TryFetch(c, ["default"])!;
        second.JobId.Should().Be("7");
        second.Dispose(); // neither acknowledged nor requeued: back to the queue
        TryFetch(c, ["default"])!.JobId.Should().Be("7");
    }

    [Fact]
    public void Acknowledge_and_requeue_with_a_lapsed_token_change_nothing()
    {
        using var c = _scope.Connect();
        Enqueue(c, "default", ["9"]);
        var stale = (LiteDbFetchedJob)TryFetch(c, ["default"])!;
        _scope.Storage.KeepAlive.Forget(stale.Claim.EntryId); // as if this process stalled: no keep-alive
        _scope.Clock.Advance(_scope.Options.InvisibilityTimeout + TimeSpan.FromSeconds(1));

        var current = TryFetch(c, ["default"])!;
        current.JobId.Should().Be("9");
        stale.RemoveFromQueue();
        stale.Requeue();
        _scope.Storage.GetMonitoringApi().FetchedCount("default").Should().Be(1, "the stale worker could not remove or release the entry");
        TryFetch(c, ["default"], 50).Should().BeNull();

        current.RemoveFromQueue();
        _scope.Storage.GetMonitoringApi().FetchedCount("default").Should().Be(0);
    }

    [Fact]
    public void A_long_running_job_is_not_fetched_again_while_its_keep_alive_runs()
    {
        using var scope = new JobStorageScope(invisibility: TimeSpan.FromMilliseconds(500));
        using var c = scope.Connect();
        Enqueue(c, "default", ["5"]);
        var running = TryFetch(c, ["default"])!;
        for (var i = 0; i < 6; i++)
        {
            // The clock moves past several invisibility timeouts; the keep-alive pushes the deadline each time.
            scope.Clock.Advance(TimeSpan.FromMilliseconds(200));
            scope.Storage.KeepAlive.Beat();
            TryFetch(c, ["default"], 20).Should().BeNull();
        }
        running.RemoveFromQueue();
        scope.Storage.KeepAlive.HeldCount.Should().Be(0);
    }

    [Fact]
    public void After_a_restart_unacknowledged_jobs_run_again_and_scheduled_jobs_are_kept()
    {
        string fetchedId;
        using (var c = _scope.Connect())
        {
            var a = _scope.CreateJob(c, EnqueuedState.StateName);
            var b = _scope.CreateJob(c, EnqueuedState.StateName);
            var scheduled = _scope.CreateJob(c, ScheduledState.StateName);
            using (var tx = c.CreateWriteTransaction())
            {
                tx.AddToSet("schedule", scheduled, 12345);
                tx.Commit();
            }
            fetchedId = TryFetch(c, ["default"])!.JobId; // fetched, never acknowledged: the process "dies"
            fetchedId.Should().Be(a);
            _ = b;
        }

        _scope.Reopen();
        _scope.Clock.Advance(_scope.Options.InvisibilityTimeout + TimeSpan.FromSeconds(1));
        using (var c = _scope.Connect())
        {
            var again = new List<string>();
            while (TryFetch(c, ["default"], 100) is { } job)
            {
                again.Add(job.JobId);
                job.RemoveFromQueue();
            }
            again.Should().BeEquivalentTo([fetchedId, (long.Parse(fetchedId) + 1).ToString()]);
            c.GetFirstByLowestScoreFromSet("schedule", 0, 20000).Should().NotBeNull();
            c.GetJobData(fetchedId)!.State.Should().Be(EnqueuedState.StateName);
        }
    }

    [Fact]
    public async Task Fetching_waits_until_a_job_is_enqueued_and_honours_cancellation()
    {
        using var c = _scope.Connect();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var waiting = Task.Run(() => c.FetchNextJob(["default"], cts.Token));
        Thread.Sleep(100);
        waiting.IsCompleted.Should().BeFalse();
        using (var other = _scope.Connect()) Enqueue(other, "default", ["11"]);
        (await waiting.WaitAsync(TimeSpan.FromSeconds(5))).JobId.Should().Be("11");

        using var cancelled = new CancellationTokenSource(50);
        var act = () => c.FetchNextJob(["default"], cancelled.Token);
        act.Should().Throw<OperationCanceledException>();
    }
}
