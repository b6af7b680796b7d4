using Cdp.Modules.Segments.Evaluation;

namespace Cdp.Modules.Segments.Membership;

/// <summary>One profile's segment state: its event counters and the segments it is in.</summary>
internal sealed class ProfileSegmentState(long profile)
{
    public long Profile { get; } = profile;
    public Dictionary<string, EventCounter> Counters { get; } = new(StringComparer.Ordinal);
    public HashSet<int> Members { get; } = [];
    public bool Stored { get; set; }
    public bool Dirty { get; set; }

    public EventCounter Counter(string id)
    {
        if (!Counters.TryGetValue(id, out var c)) Counters[id] = c = new EventCounter();
        return c;
    }

    public bool IsEmpty => Counters.Count == 0 && Members.Count == 0;
}
