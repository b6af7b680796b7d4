using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Host.Cli;

/// <summary><c>cdp reprocess</c>: rebuilds identity graph and profiles from the event log (unmerge decisions are kept).</summary>
internal static class ReprocessVerb
{
    public static Task<int> RunAsync(string[] settings) => CliHost.RunAsync(settings, withProcessor: true, async services =>
    {
        var processor = services.GetRequiredService<IProfileProcessor>();
        var head = services.GetRequiredService<IEventLog>().LastSequence;
        await processor.ReprocessAsync(CancellationToken.None);
        Console.WriteLine($"rebuilding identity graph and profiles from {head:N0} events");
        var done = processor.WaitForCheckpointAsync(head, CancellationToken.None);
        while (await Task.WhenAny(done, Task.Delay(TimeSpan.FromSeconds(2))) != done)
        {
            var s = processor.Status;
            Console.WriteLine($"  {s.Checkpoint:N0} / {head:N0} events ({s.EventsPerSecond:N0}/s){(s.LastError is null ? "" : " last error: " + s.LastError)}");
        }
        Console.WriteLine($"done: {head:N0} events processed");
        return 0;
    });
}
