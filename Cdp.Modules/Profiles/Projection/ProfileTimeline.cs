using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>Reads a profile's event sequences (its timeline index) from the projection.</summary>
internal static class ProfileTimeline
{
    /// <summary>All sequences of a live profile, ascending.</summary>
    public static List<long> All(CdpDatabase db, long profile)
    {
        var d = db.Collection(ProfileSchema.Profiles).ById(profile);
        if (d is null || d.ContainsKey("into")) return [];
        var p = ProfileState.FromBson(d);
        var all = new List<long>();
        var timeline = db.Collection(ProfileSchema.Timeline);
        for (var c = 0; c < p.Chunks; c++)
            if (timeline.ById(ProfileSchema.ChunkId(profile, c)) is { } chunk) all.AddRange(Varint.Decode(chunk["s"].AsBinary));
        all.AddRange(p.Recent);
        return all;
    }

    /// <summary>A chunk's entries (sequence, event time), ascending by sequence; times <see cref="EventTimes.Unknown"/> in a chunk written before they were kept.</summary>
    public static IEnumerable<(long Sequence, long Ticks)> Entries(BsonDocument chunk) =>
        Zip(Varint.Decode(chunk["s"].AsBinary), chunk.TryGetValue("t", out var t) && t.IsBinary ? t.AsBinary : null);

    public static IEnumerable<(long Sequence, long Ticks)> Zip(List<long> sequences, byte[]? times) =>
        sequences.Zip(EventTimes.Decode(times, sequences.Count));

    /// <summary>Every entry of a live profile's timeline index (sequence, event time), in sequence order.</summary>
    public static List<(long Sequence, long Ticks)> Entries(CdpDatabase db, ProfileState p)
    {
        var all = new List<(long, long)>((int)Math.Min(p.Events, 1_000_000));
        var timeline = db.Collection(ProfileSchema.Timeline);
        for (var c = 0; c < p.Chunks; c++)
            if (timeline.ById(ProfileSchema.ChunkId(p.Profile, c)) is { } chunk) all.AddRange(Entries(chunk));
        all.AddRange(p.Recent.Zip(p.RecentTimes));
        return all;
    }
}
