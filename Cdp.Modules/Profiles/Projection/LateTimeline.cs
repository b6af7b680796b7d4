using Cdp.Modules.Profiles.Projection;
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
        var all = new List<long>();
        for (var i = 0; i < chunks; i++)
            if (timeline.ById(ProfileSchema.ChunkId(profile, i)) is { } chunk) all.AddRange(Varint.Decode(chunk["s"].AsBinary));
        if (doc.TryGetValue("tl", out var recent)) all.AddRange(Varint.Decode(recent.AsBinary));
        if (Ascending(all)) return;

        var sorted = all.Distinct().Order().ToList();
        for (var i = 0; i < chunks; i++) timeline.Delete(ProfileSchema.ChunkId(profile, i));
        var sealedChunks = 0;
        var at = 0;
        while (sorted.Count - at >= ProfileSchema.TimelineChunk && sealedChunks < ProfileSchema.MaxChunks)
        {
            timeline.Upsert(new BsonDocument { ["_id"] = ProfileSchema.ChunkId(profile, sealedChunks), ["s"] = Varint.Encode(sorted.GetRange(at, ProfileSchema.TimelineChunk)) });
            sealedChunks++;
            at += ProfileSchema.TimelineChunk;
        }
        doc["tl"] = Varint.Encode(sorted.GetRange(at, sorted.Count - at));
        if (sealedChunks > 0) doc["tlc"] = sealedChunks;
        else doc.Remove("tlc");
        profiles.Update(doc);
    }

    private static bool Ascending(List<long> s)
    {
        for (var i = 1; i < s.Count; i++) if (s[i] <= s[i - 1]) return false;
        return true;
    }
}
