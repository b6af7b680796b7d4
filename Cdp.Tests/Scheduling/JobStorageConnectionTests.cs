using Hangfire.Common;
using Hangfire.Server;
using Hangfire.States;
using Hangfire.Storage;

namespace Cdp.Tests.Scheduling;

public sealed class JobStorageConnectionTests : IDisposable
{
    private readonly JobStorageScope _scope = new();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public void Missing_jobs_states_parameters_and_hashes_read_as_null()
    {
        using var c = _scope.Connect();
        c.GetJobData("42").Should().BeNull();
        c.GetJobData("not-a-number").Should().BeNull();
        c.GetStateData("42").Should().BeNull();
        c.GetJobParameter("42", "RetryCount").Should().BeNull();
        c.GetAllEntriesFromHash("nothing").Should().BeNull();
        var extended = (JobStorageConnection)c;
        extended.GetValueFromHash("nothing", "field").Should().BeNull();
        c.GetAllItemsFromSet("nothing").Should().BeEmpty();
        c.GetFirstByLowestScoreFromSet("nothing", 0, 100).Should().BeNull();
        extended.GetAllItemsFromList("nothing").Should().BeEmpty();
        extended.GetCounter("nothing").Should().Be(0);
        extended.GetSetTtl("nothing").Should().Be(Timeout.InfiniteTimeSpan);
        _scope.Storage.GetMonitoringApi().JobDetails("42").Should().BeNull();
    }

    [Fact]
    public void A_created_job_round_trips_with_its_invocation_parameters_and_state()
    {
        using var c = _scope.Connect();
        var createdAt = new DateTime(2026, 3, 1, 11, 0, 0, DateTimeKind.Utc);
        var id = c.CreateExpiredJob(Job.FromExpression(() => SampleJobs.WithArgument("hello")),
            new Dictionary<string, string?> { ["CurrentCulture"] = "", ["Case"] = "a", ["case"] = "b" }, createdAt, TimeSpan.FromHours(1));

        var data = c.GetJobData(id)!;
        data.Job.Method.Name.Should().Be(nameof(SampleJobs.WithArgument));
        data.Job.Args.Should().Equal("hello");
        data.CreatedAt.Should().Be(createdAt);
        data.State.Should().BeNull();
        data.LoadException.Should().BeNull();
        c.GetJobParameter(id, "Case").Should().Be("a");
        c.GetJobParameter(id, "case").Should().Be("b");

        c.SetJobParameter(id, "RetryCount", "3");
        c.GetJobParameter(id, "RetryCount").Should().Be("3");

        using (var tx = c.CreateWriteTransaction())
        {
            tx.SetJobState(id, new EnqueuedState("critical") { Reason = "because" });
            tx.PersistJob(id);
            tx.Commit();
        }
        var state = c.GetStateData(id)!;
        state.Name.Should().Be(EnqueuedState.StateName);
        state.Reason.Should().Be("because");
        state.Data["Queue"].Should().Be("critical");
        c.GetJobData(id)!.State.Should().Be(EnqueuedState.StateName);
        var details = _scope.Storage.GetMonitoringApi().JobDetails(id);
        details.ExpireAt.Should().BeNull();
        details.History.Should().ContainSingle().Which.StateName.Should().Be(EnqueuedState.StateName);
    }

    [Fact]
    public void A_job_whose_type_is_gone_reads_with_a_load_exception()
    {
        using var c = _scope.Connect();
        var id = c.CreateExpiredJob(Job.FromExpression(() => SampleJobs.Noop()), new Dictionary<string, string?>(), DateTime.UtcNow, TimeSpan.FromHours(1));
        var doc = _scope.Storage.Database.Collection("jobs").FindById(long.Parse(id));
        doc["type"] = "No.Such.Type, No.Such.Assembly";
        _scope.Storage.Gate.Write(db => db.GetCollection("jobs").Update(doc));
        var data = c.GetJobData(id)!;
        data.Job.Should().BeNull();
        data.LoadException.Should().NotBeNull();
    }

    [Fact]
    public void Sets_are_ordered_by_score_then_value_and_read_by_score_range()
    {
        using var c = _scope.Connect();
        using (var tx = c.CreateWriteTransaction())
        {
            tx.AddToSet("s", "c", 3);
            tx.AddToSet("s", "a", -1.5);
            tx.AddToSet("s", "b", 3);
            tx.AddToSet("s", "d", 10);
            tx.AddToSet("s", "a", 1); // an existing value takes the new score
            tx.AddToSet("other", "x", 0);
            tx.Commit();
        }
        var e = (JobStorageConnection)c;
        c.GetAllItemsFromSet("s").Should().BeEquivalentTo(["a", "b", "c", "d"]);
        e.GetRangeFromSet("s", 0, 10).Should().Equal("a", "b", "c", "d");
        e.GetRangeFromSet("s", 1, 2).Should().Equal("b", "c");
        c.GetFirstByLowestScoreFromSet("s", 2, 100).Should().Be("b");
        e.GetFirstByLowestScoreFromSet("s", 0, 3, 10).Should().Equal("a", "b", "c");
        e.GetFirstByLowestScoreFromSet("s", 4, 5, 10).Should().BeEmpty();
        e.GetSetCount("s").Should().Be(4);
        e.GetSetCount(["s", "other"], 100).Should().Be(5);
        e.GetSetCount(["s", "other"], 2).Should().Be(2);
        e.GetSetContains("s", "c").Should().BeTrue();
        e.GetSetContains("s", "C").Should().BeFalse();

        using (var tx = c.CreateWriteTransaction())
        {
            tx.RemoveFromSet("s", "b");
            ((JobStorageTransaction)tx).AddRangeToSet("r", ["1", "2"]);
            tx.Commit();
        }
        e.GetRangeFromSet("s", 0, 10).Should().Equal("a", "c", "d");
        c.GetAllItemsFromSet("r").Should().BeEquivalentTo(["1", "2"]);
        using (var tx = c.CreateWriteTransaction())
        {
            ((JobStorageTransaction)tx).RemoveSet("s");
            tx.Commit();
        }
        c.GetAllItemsFromSet("s").Should().BeEmpty();
        c.GetAllItemsFromSet("other").Should().Equal("x");
    }

    [Fact]
    public void Lists_read_newest_first_and_trim_keeps_the_given_positions()
    {
        using var c = _scope.Connect();
        using (var tx = c.CreateWriteTransaction())
        {
            foreach (var v in new[] { "1", "2", "3", "2", "4", "5" }) tx.InsertToList("l", v);
            tx.Commit();
        }
        var e = (JobStorageConnection)c;
        e.GetAllItemsFromList("l").Should().Equal("5", "4", "2", "3", "2", "1");
        e.GetRangeFromList("l", 1, 3).Should().Equal("4", "2", "3");
        e.GetListCount("l").Should().Be(6);

        using (var tx = c.CreateWriteTransaction())
        {
            tx.RemoveFromList("l", "2"); // every occurrence
            tx.Commit();
        }
        e.GetAllItemsFromList("l").Should().Equal("5", "4", "3", "1");

        using (var tx = c.CreateWriteTransaction())
        {
            tx.TrimList("l", 1, 2);
            tx.Commit();
        }
        e.GetAllItemsFromList("l").Should().Equal("4", "3");
    }

    [Fact]
    public void Hashes_set_overwrite_and_remove_fields_by_key()
    {
        using var c = _scope.Connect();
        c.SetRangeInHash("h", [new("a", "1"), new("b", "2")]);
        using (var tx = c.CreateWriteTransaction())
        {
            tx.SetRangeInHash("h", [new("b", "two"), new("B", "big")]);
            tx.SetRangeInHash("h2", [new("x", "y")]);
            tx.Commit();
        }
        c.GetAllEntriesFromHash("h").Should().BeEquivalentTo(new Dictionary<string, string?> { ["a"] = "1", ["b"] = "two", ["B"] = "big" });
        var e = (JobStorageConnection)c;
        e.GetValueFromHash("h", "b").Should().Be("two");
        e.GetHashCount("h").Should().Be(3);
        using (var tx = c.CreateWriteTransaction())
        {
            tx.RemoveHash("h");
            tx.Commit();
        }
        c.GetAllEntriesFromHash("h").Should().BeNull();
        c.GetAllEntriesFromHash("h2")!.Keys.Should().Equal("x");
    }

    [Fact]
    public void Counters_add_up_and_vanish_at_zero()
    {
        using var c = _scope.Connect();
        using (var tx = c.CreateWriteTransaction())
        {
            tx.IncrementCounter("c");
            tx.IncrementCounter("c");
            tx.IncrementCounter("c", TimeSpan.FromHours(1));
            tx.DecrementCounter("d");
            tx.Commit();
        }
        var e = (JobStorageConnection)c;
        e.GetCounter("c").Should().Be(3);
        e.GetCounter("d").Should().Be(-1);
        using (var tx = c.CreateWriteTransaction())
        {
            tx.IncrementCounter("d", TimeSpan.FromHours(1));
            tx.Commit();
        }
        e.GetCounter("d").Should().Be(0);
        (_scope.Storage.Database.Collection("counters").FindById("d") is null).Should().BeTrue();
    }

    [Fact]
    public void Servers_announce_heartbeat_time_out_and_a_removed_server_is_told_it_is_gone()
    {
        using var c = _scope.Connect();
        c.AnnounceServer("s1", new ServerContext { Queues = ["default", "critical"], WorkerCount = 3 });
        c.AnnounceServer("s2", new ServerContext { Queues = ["default"], WorkerCount = 1 });
        var servers = _scope.Storage.GetMonitoringApi().Servers();
        servers.Should().HaveCount(2);
        servers.Single(s => s.Name == "s1").Queues.Should().Equal("default", "critical");

        _scope.Clock.Advance(TimeSpan.FromMinutes(10));
        c.Heartbeat("s1");
        c.RemoveTimedOutServers(TimeSpan.FromMinutes(5)).Should().Be(1);
        _scope.Storage.GetMonitoringApi().Servers().Select(s => s.Name).Should().Equal("s1");

        var heartbeatOfRemoved = () => c.Heartbeat("s2");
        heartbeatOfRemoved.Should().Throw<BackgroundServerGoneException>();
        c.RemoveServer("s1");
        _scope.Storage.GetMonitoringApi().Servers().Should().BeEmpty();
    }

    [Fact]
    public void Storage_advertises_only_the_features_it_implements()
    {
        var s = _scope.Storage;
        s.HasFeature(JobStorageFeatures.ExtendedApi).Should().BeTrue();
        s.HasFeature(JobStorageFeatures.JobQueueProperty).Should().BeTrue();
        s.HasFeature(JobStorageFeatures.Transaction.RemoveFromQueue(typeof(Cdp.Modules.Scheduling.Storage.LiteDbFetchedJob))).Should().BeTrue();
        s.HasFeature(JobStorageFeatures.Monitoring.AwaitingJobs).Should().BeTrue();
        s.HasFeature("Something.Else").Should().BeFalse();
        ((JobStorageConnection)_scope.Connect()).GetUtcDateTime().Should().Be(_scope.Clock.GetUtcNow().UtcDateTime);
    }
}
