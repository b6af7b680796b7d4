using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>Reads a profile's event sequences (its timeline index) from the projection.</summary>
internal static class ProfileTimeline
{
    /// <summary>All sequences of a live profile, ascending.</summary>
    public static List<long> All(IProfileStore store, long profile)
    {
        var p = store.Profile(profile);
        if (p is null || p.Into != 0) return [];
        var all = new List<long>();
        for (var c = 0; c < p.Chunks; c++)
            if (store.Chunk(profile, c) is { } chunk) all.AddRange(Varint.Decode(chunk.Sequences));
        all.AddRange(p.Recent);
        return all;
    }

    /// <summary>A chunk's entries (sequence, event time), ascending by sequence; times <see cref="EventTimes.Unknown"/> in a chunk written before they were kept.</summary>
    public static IEnumerable<(long Sequence, long Ticks)> Entries(TimelinePart chunk) => Zip(Varint.Decode(chunk.Sequences), chunk.Times);

    public static IEnumerable<(long Sequence, long Ticks)> Zip(List<long> sequences, byte[]? times) =>
        sequences.Zip(EventTimes.Decode(times, sequences.Count));

    /// <summary>Every entry of a live profile's timeline index (sequence, event time), in sequence order.</summary>
    public static List<(long Sequence, long Ticks)> Entries(IProfileStore store, ProfileState p, IUnitOfWork? tx = null)
    {
        var all = new List<(long, long)>((int)Math.Min(p.Events, 1_000_000));
        for (var c = 0; c < p.Chunks; c++)
            if (store.Chunk(p.Profile, c, tx) is { } chunk) all.AddRange(Entries(chunk));
        all.AddRange(p.Recent.Zip(p.RecentTimes));
        return all;
    }
}
