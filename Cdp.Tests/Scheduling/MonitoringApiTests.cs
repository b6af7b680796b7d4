using System.Globalization;
using Hangfire.States;
using Hangfire.Storage;

namespace Cdp.Tests.Scheduling;

public sealed class MonitoringApiTests : IDisposable
{
    private readonly JobStorageScope _scope = new();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public void Counts_and_pages_follow_the_jobs_states_queues_and_counters()
    {
        using var c = _scope.Connect();
        var succeeded = Enumerable.Range(0, 25).Select(_ => _scope.CreateJob(c, SucceededState.StateName)).ToList();
        for (var i = 0; i < 3; i++) _scope.CreateJob(c, FailedState.StateName);
        for (var i = 0; i < 2; i++) _scope.CreateJob(c, ProcessingState.StateName);
        for (var i = 0; i < 4; i++) _scope.CreateJob(c, ScheduledState.StateName);
        _scope.CreateJob(c, DeletedState.StateName);
        var enqueued = Enumerable.Range(0, 5).Select(_ => _scope.CreateJob(c, EnqueuedState.StateName, "default")).ToList();
        _scope.CreateJob(c, EnqueuedState.StateName, "critical");
        _scope.CreateJob(c, EnqueuedState.StateName, "critical");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var fetched = c.FetchNextJob(["default"], cts.Token);
        var hour = _scope.Clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd-HH", CultureInfo.InvariantCulture);
        var day = _scope.Clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        using (var tx = c.CreateWriteTransaction())
        {
            for (var i = 0; i < 25; i++) tx.IncrementCounter("stats:succeeded");
            tx.IncrementCounter($"stats:succeeded:{hour}");
            tx.IncrementCounter($"stats:failed:{day}");
            tx.AddToSet("recurring-jobs", "r1");
            tx.AddToSet("retries", "x");
            tx.Commit();
        }

        var m = _scope.Storage.GetMonitoringApi();
        m.SucceededListCount().Should().Be(25);
        m.FailedCount().Should().Be(3);
        m.ProcessingCount().Should().Be(2);
        m.ScheduledCount().Should().Be(4);
        m.DeletedListCount().Should().Be(1);
        m.EnqueuedCount("default").Should().Be(4);
        m.FetchedCount("default").Should().Be(1);
        m.EnqueuedCount("critical").Should().Be(2);

        var stats = m.GetStatistics();
        stats.Succeeded.Should().Be(25);
        stats.Failed.Should().Be(3);
        stats.Enqueued.Should().Be(7);
        stats.Queues.Should().Be(2);
        stats.Recurring.Should().Be(1);
        stats.Retries.Should().Be(1);
        stats.Scheduled.Should().Be(4);

        // Succeeded jobs page newest first; the pages cover every job once.
        var firstPage = m.SucceededJobs(0, 10);
        firstPage.Select(p => p.Key).Should().Equal(succeeded.AsEnumerable().Reverse().Take(10));
        firstPage.Should().OnlyContain(p => p.Value.InSucceededState);
        m.SucceededJobs(20, 10).Should().HaveCount(5);
        Enumerable.Range(0, 3).SelectMany(i => m.SucceededJobs(i * 10, 10).Select(p => p.Key)).Should().BeEquivalentTo(succeeded);

        // Enqueued jobs page in queue order (FIFO), skipping the fetched one.
        m.EnqueuedJobs("default", 1, 2).Select(p => p.Key).Should().Equal(enqueued[2], enqueued[3]);
        m.FetchedJobs("default", 0, 10).Select(p => p.Key).Should().Equal(fetched.JobId);
        m.EnqueuedJobs("default", 0, 10).Should().OnlyContain(p => p.Value.InEnqueuedState && p.Value.Job != null);
        m.Queues().Select(q => (q.Name, q.Length, q.Fetched)).Should().Equal(("critical", 2L, (long?)0), ("default", 4L, (long?)1));
        m.FailedJobs(0, 10).Should().HaveCount(3);
        m.ScheduledJobs(0, 2).Should().HaveCount(2);
        m.ProcessingJobs(0, 10).Should().HaveCount(2);
        m.DeletedJobs(0, 10).Should().HaveCount(1);

        m.HourlySucceededJobs().Should().HaveCount(24).And.ContainValue(1);
        m.FailedByDatesCount().Should().HaveCount(7).And.ContainValue(1);
        var details = m.JobDetails(succeeded[0]);
        details.History.Select(h => h.StateName).Should().Equal(SucceededState.StateName);
        details.Job.Should().NotBeNull();
    }

    [Fact]
    public void Awaiting_jobs_show_their_parents_state()
    {
        using var c = _scope.Connect();
        var parent = _scope.CreateJob(c, ProcessingState.StateName);
        var child = _scope.CreateJob(c);
        using (var tx = c.CreateWriteTransaction())
        {
            tx.SetJobState(child, new AwaitingState(parent));
            tx.Commit();
        }
        var m = (JobStorageMonitor)_scope.Storage.GetMonitoringApi();
        m.AwaitingCount().Should().Be(1);
        var awaiting = m.AwaitingJobs(0, 10).Should().ContainSingle().Subject;
        awaiting.Key.Should().Be(child);
        awaiting.Value.ParentStateName.Should().Be(ProcessingState.StateName);
    }
}
