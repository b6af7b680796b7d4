using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Cdp.Bench;

/// <summary>CDP_BENCH_ALLOC=1: the runtime's allocation samples (one per ~100 KB) by type, printed at the end of a scenario.</summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytes = new();
    public volatile bool On;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!On || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null) return;
        var type = e.PayloadNames!.IndexOf("TypeName") is var t and >= 0 ? e.Payload[t] as string ?? "?" : "?";
        var amount = e.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(e.Payload[a]) : 100_000;
        _bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
    }

    public void Print(int top = 25)
    {
        var total = _bytes.Values.Sum();
        Console.WriteLine($"   allocation samples: {total / 1e6:N0} MB");
        foreach (var (type, bytes) in _bytes.OrderByDescending(kv => kv.Value).Take(top))
            Console.WriteLine($"   {100.0 * bytes / total,5:N1}% {bytes / 1e6,8:N0} MB  {type}");
    }
}
