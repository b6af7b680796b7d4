using Hangfire;
using Hangfire.Common;
using Hangfire.InMemory;
using Hangfire.States;
using Hangfire.Storage;
using Xunit.Abstractions;

namespace Cdp.Tests.Scheduling;

/// <summary>
/// The same scripted operations against Hangfire.InMemory (the reference) and the LiteDB storage; every read
/// must answer the same. Job ids differ between the two, so jobs are compared through their position in the script.
/// </summary>
public sealed class DifferentialTests(ITestOutputHelper output) : IDisposable
{
    private readonly JobStorageScope _lite = new(poll: TimeSpan.FromMilliseconds(20));
    private readonly InMemoryStorage _reference = new(new InMemoryStorageOptions());

    public void Dispose()
    {
        _lite.Dispose();
        _reference.Dispose();
    }

    private static readonly string[] SetKeys = ["s0", "s1", "s2"];
    private static readonly string[] ListKeys = ["l0", "l1"];
    private static readonly string[] HashKeys = ["h0", "h1"];
    private static readonly string[] CounterKeys = ["c0", "c1"];
    private static readonly string[] Values = ["a", "b", "c", "d", "e", "A", "10", "9"];
    private static readonly string[] Queues = ["default", "critical"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void The_same_script_reads_the_same_on_both_storages(int seed)
    {
        var random = new Random(seed);
        var sides = new[] { new Side("inmemory", _reference), new Side("litedb", _lite.Storage) };
        for (var step = 0; step < 120; step++)
        {
            var script = Enumerable.Range(0, random.Next(1, 6)).Select(_ => Operation(random)).ToList();
            var jobOp = random.Next(6);
            var jobSeed = random.Next();
            foreach (var side in sides) side.Run(script, jobOp, jobSeed);
            var expected = sides[0].Snapshot();
            var actual = sides[1].Snapshot();
            if (expected != actual)
            {
                var e = expected.Split('\n');
                var a = actual.Split('\n');
                for (var i = 0; i < Math.Min(e.Length, a.Length); i++)
                    if (e[i] != a[i]) output.WriteLine($"step {step}: reference [{e[i]}] litedb [{a[i]}]");
            }
            actual.Should().Be(expected, $"step {step} (seed {seed}) must read the same");
        }
        sides[1].Fetches.Should().Equal(sides[0].Fetches);
    }

    private static Op Operation(Random r) => r.Next(12) switch
    {
        // Distinct scores: for equal scores Hangfire leaves the order of a lowest-score read open (and InMemory's single read differs from its batched one).
        0 or 1 => new Op("AddToSet", Pick(r, SetKeys), Pick(r, Values), r.Next(-3, 8) + r.Next(1, 10_000) / 10_000.0),
        2 => new Op("RemoveFromSet", Pick(r, SetKeys), Pick(r, Values)),
        3 or 4 => new Op("InsertToList", Pick(r, ListKeys), Pick(r, Values)),
        5 => new Op("RemoveFromList", Pick(r, ListKeys), Pick(r, Values)),
        6 => new Op("TrimList", Pick(r, ListKeys), "", r.Next(0, 3), r.Next(0, 6)),
        7 => new Op("SetRangeInHash", Pick(r, HashKeys), Pick(r, Values), r.Next(100)),
        8 => new Op("RemoveHash", Pick(r, HashKeys), ""),
        9 => new Op(r.Next(2) == 0 ? "IncrementCounter" : "DecrementCounter", Pick(r, CounterKeys), ""),
        10 => new Op(r.Next(2) == 0 ? "ExpireSet" : "PersistSet", Pick(r, SetKeys), ""),
        _ => new Op(r.Next(2) == 0 ? "ExpireList" : "ExpireHash", r.Next(2) == 0 ? Pick(r, ListKeys) : Pick(r, HashKeys), ""),
    };

    private static string Pick(Random r, string[] from) => from[r.Next(from.Length)];

    private sealed record Op(string Name, string Key, string Value, double Score = 0, int To = 0);

    private sealed class Side(string name, JobStorage storage)
    {
        private readonly List<string> _jobs = [];

        public List<int> Fetches { get; } = [];

        public override string ToString() => name;

        public void Run(List<Op> script, int jobOp, int jobSeed)
        {
            using var c = storage.GetConnection();
            using (var tx = (JobStorageTransaction)c.CreateWriteTransaction())
            {
                foreach (var op in script) Apply(tx, op);
                tx.Commit();
            }
            var r = new Random(jobSeed);
            switch (jobOp)
            {
                case 0:
                    var id = c.CreateExpiredJob(Job.FromExpression(() => SampleJobs.WithArgument("x" + _jobs.Count)),
                        new Dictionary<string, string?> { ["n"] = _jobs.Count.ToString() }, new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc), TimeSpan.FromHours(1));
                    _jobs.Add(id);
                    break;
                case 1 when _jobs.Count > 0:
                    var job = _jobs[r.Next(_jobs.Count)];
                    using (var tx = c.CreateWriteTransaction())
                    {
                        var queue = Queues[r.Next(Queues.Length)];
                        tx.SetJobState(job, new EnqueuedState(queue));
                        tx.AddToQueue(queue, job);
                        tx.Commit();
                    }
                    break;
                case 2 when _jobs.Count > 0:
                    c.SetJobParameter(_jobs[r.Next(_jobs.Count)], "p" + r.Next(3), "v" + r.Next(3));
                    break;
                case 3:
                    using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(30)))
                    {
                        try
                        {
                            var fetched = c.FetchNextJob(["critical", "default"], cts.Token);
                            Fetches.Add(_jobs.IndexOf(fetched.JobId));
                            // No Requeue here: InMemory puts a requeued job at the back, this storage at its old place
                            // (as Hangfire.SqlServer does); both are allowed, so only acknowledged fetches are compared.
                            fetched.RemoveFromQueue();
                            fetched.Dispose();
                        }
                        catch (OperationCanceledException)
                        {
                            Fetches.Add(-1);
                        }
                    }
                    break;
            }
        }

        private static void Apply(JobStorageTransaction tx, Op op)
        {
            switch (op.Name)
            {
                case "AddToSet": tx.AddToSet(op.Key, op.Value, op.Score); break;
                case "RemoveFromSet": tx.RemoveFromSet(op.Key, op.Value); break;
                case "InsertToList": tx.InsertToList(op.Key, op.Value); break;
                case "RemoveFromList": tx.RemoveFromList(op.Key, op.Value); break;
                case "TrimList": tx.TrimList(op.Key, (int)op.Score, (int)op.Score + op.To); break;
                case "SetRangeInHash": tx.SetRangeInHash(op.Key, [new(op.Value, op.Score.ToString())]); break;
                case "RemoveHash": tx.RemoveHash(op.Key); break;
                case "IncrementCounter": tx.IncrementCounter(op.Key); break;
                case "DecrementCounter": tx.DecrementCounter(op.Key); break;
                case "ExpireSet": tx.ExpireSet(op.Key, TimeSpan.FromMinutes(30)); break;
                case "PersistSet": tx.PersistSet(op.Key); break;
                case "ExpireList": tx.ExpireList(op.Key, TimeSpan.FromMinutes(30)); break;
                case "ExpireHash": tx.ExpireHash(op.Key, TimeSpan.FromMinutes(30)); break;
                default: throw new InvalidOperationException(op.Name);
            }
        }

        /// <summary>Everything readable, as one comparable string.</summary>
        public string Snapshot()
        {
            using var c = (JobStorageConnection)storage.GetConnection();
            var parts = new List<string>();
            foreach (var k in SetKeys)
            {
                parts.Add($"{k}: all={string.Join(",", c.GetAllItemsFromSet(k).Order(StringComparer.Ordinal))} range={string.Join(",", c.GetRangeFromSet(k, 0, 100))}"
                    + $" count={c.GetSetCount(k)} low={c.GetFirstByLowestScoreFromSet(k, 0, 5)} low3={string.Join(",", c.GetFirstByLowestScoreFromSet(k, -1, 4, 3))}"
                    + $" has-a={c.GetSetContains(k, "a")} ttl={Ttl(c.GetSetTtl(k))}");
            }
            parts.Add($"limited={c.GetSetCount(SetKeys, 4)}");
            foreach (var k in ListKeys)
                parts.Add($"{k}: {string.Join(",", c.GetAllItemsFromList(k))} count={c.GetListCount(k)} mid={string.Join(",", c.GetRangeFromList(k, 1, 2))} ttl={Ttl(c.GetListTtl(k))}");
            foreach (var k in HashKeys)
            {
                var hash = c.GetAllEntriesFromHash(k);
                parts.Add($"{k}: {(hash is null ? "null" : string.Join(",", hash.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Key + "=" + e.Value)))}"
                    + $" count={c.GetHashCount(k)} a={c.GetValueFromHash(k, "a")} ttl={Ttl(c.GetHashTtl(k))}");
            }
            foreach (var k in CounterKeys) parts.Add($"{k}={c.GetCounter(k)}");
            for (var i = 0; i < _jobs.Count; i++)
            {
                var data = c.GetJobData(_jobs[i])!;
                var state = c.GetStateData(_jobs[i]);
                parts.Add($"job{i}: {data.Job.Args[0]} state={data.State} {(state?.Data.TryGetValue("Queue", out var q) == true ? q : "")} n={c.GetJobParameter(_jobs[i], "n")}"
                    + $" p={string.Join(",", Enumerable.Range(0, 3).Select(p => c.GetJobParameter(_jobs[i], "p" + p)))}");
            }
            var monitor = storage.GetMonitoringApi();
            parts.Add($"queues: {string.Join(",", Queues.Select(q => $"{q}={monitor.EnqueuedCount(q)}/{monitor.FetchedCount(q)}"))} enqueued-state={monitor.GetStatistics().Enqueued}");
            return string.Join("\n", parts);
        }

        private static string Ttl(TimeSpan ttl) => ttl < TimeSpan.Zero ? "none" : "set";
    }
}
