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

    /// <summary>Up to <paramref name="limit"/> sequences older than <paramref name="before"/>, newest first.</summary>
    public static List<long> Page(CdpDatabase db, ProfileState p, long before, int limit)
    {
        var page = new List<long>(limit);
        for (var i = p.Recent.Count - 1; i >= 0 && page.Count < limit; i--) if (p.Recent[i] < before) page.Add(p.Recent[i]);
        var timeline = db.Collection(ProfileSchema.Timeline);
        for (var c = p.Chunks - 1; c >= 0 && page.Count < limit; c--)
        {
            var chunk = timeline.ById(ProfileSchema.ChunkId(p.Profile, c));
            if (chunk is null) continue;
            var seqs = Varint.Decode(chunk["s"].AsBinary);
            if (seqs.Count > 0 && seqs[0] >= before) continue;
            for (var i = seqs.Count - 1; i >= 0 && page.Count < limit; i--) if (seqs[i] < before) page.Add(seqs[i]);
        }
        return page;
    }
}
