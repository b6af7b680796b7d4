using System.Collections.Concurrent;
using Hangfire;

namespace Cdp.Tests.Scheduling;

/// <summary>Jobs the end-to-end tests run on a real host. Results go into static maps keyed by a per-test token.</summary>
public sealed class E2EJobs(JobStorage storage)
{
    public static readonly ConcurrentDictionary<string, ConcurrentQueue<string>> Runs = new();
    public static readonly ConcurrentDictionary<string, int> Attempts = new();
    public static readonly ConcurrentDictionary<string, int> Running = new();
    public static readonly ConcurrentDictionary<string, int> MostAtOnce = new();

    public static IReadOnlyList<string> RunsOf(string token) => Runs.TryGetValue(token, out var q) ? q.ToList() : [];

    public Task Record(string token, string what)
    {
        Runs.GetOrAdd(token, _ => new ConcurrentQueue<string>()).Enqueue(what);
        return Task.CompletedTask;
    }

    /// <summary>Records which jobs file (which host) ran it.</summary>
    public Task RecordHost(string token) => Record(token, storage.ToString()!);

    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [0])]
    public Task FailTwiceThenSucceed(string token)
    {
        var attempt = Attempts.AddOrUpdate(token, 1, (_, n) => n + 1);
        if (attempt <= 2) throw new InvalidOperationException($"attempt {attempt} fails on purpose");
        return Record(token, "succeeded on attempt " + attempt);
    }

    [DisableConcurrentExecution(timeoutInSeconds: 30)]
    public async Task OneAtATime(string token)
    {
        var now = Running.AddOrUpdate(token, 1, (_, n) => n + 1);
        MostAtOnce.AddOrUpdate(token, now, (_, m) => Math.Max(m, now));
        await Task.Delay(150);
        Running.AddOrUpdate(token, 0, (_, n) => n - 1);
        await Record(token, "ran");
    }
}
