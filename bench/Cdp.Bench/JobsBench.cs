using System.Diagnostics;
using Cdp.Modules.Scheduling.Storage;
using Hangfire;
using Hangfire.InMemory;

namespace Cdp.Bench;

/// <summary>
/// Hangfire on Cdp's LiteDB job storage against Hangfire.InMemory (the in-process ceiling), same run, same machine:
/// enqueue-only throughput, and enqueue-and-execute throughput of trivial jobs (N jobs enqueued by 4 producers,
/// timed until the last one succeeded, 8 workers).
/// </summary>
public sealed class JobsBench : IBenchScenario
{
    private const int Workers = 8;
    private const int Producers = 4;

    public string Name => "jobs";

    public async Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        var jobs = context.Quick ? 2_000 : 10_000;
        using var reference = new InMemoryStorage(new InMemoryStorageOptions());
        using var lite = new LiteDbJobStorage(new LiteDbJobStorageOptions { Path = Path.Combine(context.WorkFolder, "cdp-jobs.db") });

        // Warm-up on both (JIT, type caches), then the measured runs.
        await EndToEnd(reference, 200);
        await EndToEnd(lite, 200);
        var refEnqueue = Enqueue(reference, jobs);
        var liteEnqueue = Enqueue(lite, jobs);
        var refEndToEnd = await EndToEnd(reference, jobs);
        var commitsBefore = lite.Gate.Commits;
        var writesBefore = lite.Gate.Writes;
        var liteEndToEnd = await EndToEnd(lite, jobs);
        var writesPerCommit = (double)(lite.Gate.Writes - writesBefore) / Math.Max(1, lite.Gate.Commits - commitsBefore);

        return
        [
            new BenchFigure("jobs enqueued/s (LiteDB storage)", liteEnqueue, "jobs/s", CeilingName: "Hangfire.InMemory", Ceiling: refEnqueue),
            new BenchFigure("jobs enqueued+executed/s (LiteDB storage)", liteEndToEnd, "jobs/s", CeilingName: "Hangfire.InMemory", Ceiling: refEndToEnd),
            new BenchFigure("storage writes per LiteDB commit (group commit)", writesPerCommit, "writes"),
        ];
    }

    /// <summary>Enqueue only (no server): the client path, i.e. create + state + queue commits.</summary>
    private static double Enqueue(JobStorage storage, int count)
    {
        var client = new BackgroundJobClient(storage);
        var watch = Stopwatch.StartNew();
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Producers }, _ => client.Enqueue(() => BenchJobs.Noop()));
        return count / watch.Elapsed.TotalSeconds;
    }

    private static async Task<double> EndToEnd(JobStorage storage, int count)
    {
        // Drain what Enqueue() left, so that only this run's jobs are timed.
        using var server = new BackgroundJobServer(new BackgroundJobServerOptions
        {
            WorkerCount = Workers,
            SchedulePollingInterval = TimeSpan.FromSeconds(1),
            ServerName = "bench",
        }, storage);
        await WaitFor(() => storage.GetMonitoringApi().EnqueuedCount("default") == 0 && storage.GetMonitoringApi().ProcessingCount() == 0);

        var start = BenchJobs.Done;
        var client = new BackgroundJobClient(storage);
        var watch = Stopwatch.StartNew();
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Producers }, _ => client.Enqueue(() => BenchJobs.Noop()));
        await WaitFor(() => BenchJobs.Done - start >= count);
        var rate = count / watch.Elapsed.TotalSeconds;
        server.SendStop();
        await server.WaitForShutdownAsync(CancellationToken.None);
        return rate;
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException("jobs did not finish in 5 minutes");
            await Task.Delay(5);
        }
    }
}

public static class BenchJobs
{
    private static long _done;

    public static long Done => Interlocked.Read(ref _done);

    public static void Noop() => Interlocked.Increment(ref _done);
}
