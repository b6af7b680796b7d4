namespace Cdp.Tests.Support;

/// <summary>
/// The tests' one way to wait for something another thread or process does: poll a condition that reads the signal
/// (a status, a job state, a file) until it holds, and fail naming what was awaited when the patience runs out.
/// Never a fixed sleep: a sleep either wastes time or, on a slow machine, asserts before the thing happened.
/// </summary>
internal static class Eventually
{
    /// <summary>Generous: a loaded 2-core CI machine is slow, and a condition that holds returns at once anyway.</summary>
    public const int DefaultSeconds = 30;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    public static Task Until(Func<bool> condition, string what, int seconds = DefaultSeconds, Func<string>? explain = null) =>
        Until(() => Task.FromResult(condition()), what, seconds, explain);

    public static async Task Until(Func<Task<bool>> condition, string what, int seconds = DefaultSeconds, Func<string>? explain = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"waited {seconds} s in vain for: {what}" + (explain is null ? "" : " | " + explain()));
            await Task.Delay(PollInterval);
        }
    }
}
