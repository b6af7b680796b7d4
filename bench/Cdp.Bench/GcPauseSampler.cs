namespace Cdp.Bench;

/// <summary>
/// GC pauses by kind (ephemeral, full blocking, background), from <see cref="GC.GetGCMemoryInfo(GCKind)"/> polled
/// often enough to see most GCs (each kind reports only its last one). CDP_BENCH_GCLOG=1 prints every GC seen.
/// </summary>
internal sealed class GcPauseSampler
{
    private static readonly GCKind[] Kinds = [GCKind.Ephemeral, GCKind.FullBlocking, GCKind.Background];
    private readonly bool _log = Environment.GetEnvironmentVariable("CDP_BENCH_GCLOG") == "1";
    private readonly Dictionary<GCKind, (long LastIndex, int Count, double PauseMs, double PromotedMb)> _byKind = [];

    public void Poll()
    {
        foreach (var kind in Kinds)
        {
            var info = GC.GetGCMemoryInfo(kind);
            var seen = _byKind.GetValueOrDefault(kind);
            if (info.Index == 0 || seen.LastIndex == info.Index) continue;
            var pause = info.PauseDurations.ToArray().Sum(p => p.TotalMilliseconds);
            _byKind[kind] = (info.Index, seen.Count + 1, seen.PauseMs + pause, seen.PromotedMb + info.PromotedBytes / 1e6);
            if (_log)
                Console.WriteLine($"   gc {kind} gen{info.Generation} pause {pause:N1} ms promoted {info.PromotedBytes / 1e6:N1} MB " +
                    $"heap {info.HeapSizeBytes / 1e6:N0} MB compacted {info.Compacted} fragmented {info.FragmentedBytes / 1e6:N0} MB");
        }
    }

    public void Print()
    {
        foreach (var (kind, s) in _byKind)
            Console.WriteLine($"   sampled GCs {kind}: {s.Count}, pauses {s.PauseMs:N0} ms, promoted {s.PromotedMb:N0} MB");
    }
}
