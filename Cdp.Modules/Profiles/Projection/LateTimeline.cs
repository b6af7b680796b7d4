using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// A retried failure is applied after later events: the profile's timeline index then ends with an older sequence,
/// while readers (the timeline pages, unmerges, merges) rely on it being ascending. This puts it back in order, inside
/// the retry's transaction, touching only the timeline fields ("tl" the newest part, "tlc" the sealed chunks) of the
/// profile document and its chunks, cut the way the processor cuts them.
/// </summary>
internal static class LateTimeline
{
    public static void Sort(LiteDatabase db, long profile)
    {
        var profiles = db.GetCollection(ProfileSchema.Profiles);
        var doc = profiles.ById(profile);
        if (doc is null || doc.ContainsKey("into")) return;
        var chunks = doc.TryGetValue("tlc", out var c) ? c.AsInt32 : 0;
        var timeline = db.GetCollection(ProfileSchema.Timeline);
        var all = new List<(long Sequence, long Ticks)>();
        for (var i = 0; i < chunks; i++)
            if (timeline.ById(ProfileSchema.ChunkId(profile, i)) is { } chunk) all.AddRange(ProfileTimeline.Entries(chunk));
        if (doc.TryGetValue("tl", out var recent))
            all.AddRange(ProfileTimeline.Zip(Varint.Decode(recent.AsBinary), doc.TryGetValue("tlt", out var tlt) && tlt.IsBinary ? tlt.AsBinary : null));
        if (Ascending(all)) return;

        var sorted = all.DistinctBy(e => e.Sequence).OrderBy(e => e.Sequence).ToList();
        for (var i = 0; i < chunks; i++) timeline.Delete(ProfileSchema.ChunkId(profile, i));
        var sealedChunks = 0;
        var at = 0;
        while (sorted.Count - at >= ProfileSchema.TimelineChunk && sealedChunks < ProfileSchema.MaxChunks)
        {
            var part = sorted.GetRange(at, ProfileSchema.TimelineChunk);
            timeline.Upsert(new BsonDocument
            {
                ["_id"] = ProfileSchema.ChunkId(profile, sealedChunks),
                ["s"] = Varint.Encode(part.Select(e => e.Sequence).ToList()),
                ["t"] = EventTimes.Encode(part.Select(e => e.Ticks).ToList()),
            });
            sealedChunks++;
            at += ProfileSchema.TimelineChunk;
        }
        var rest = sorted.GetRange(at, sorted.Count - at);
        doc["tl"] = Varint.Encode(rest.Select(e => e.Sequence).ToList());
        doc["tlt"] = EventTimes.Encode(rest.Select(e => e.Ticks).ToList());
        if (sealedChunks > 0) doc["tlc"] = sealedChunks;
        else doc.Remove("tlc");
        profiles.Update(doc);
    }

    private static bool Ascending(List<(long Sequence, long Ticks)> s)
    {
        for (var i = 1; i < s.Count; i++) if (s[i].Sequence <= s[i - 1].Sequence) return false;
        return true;
    }
}
