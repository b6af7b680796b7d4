using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// A retried failure is applied after later events: the profile's timeline index then ends with an older sequence,
/// while readers (the timeline pages, unmerges, merges) rely on it being ascending. This puts it back in order, inside
/// the retry's transaction, changing only the timeline of the profile (its newest part and its sealed chunks), cut the
/// way the processor cuts them.
/// </summary>
internal static class LateTimeline
{
    public static void Sort(IProfileStore store, IUnitOfWork tx, long profile)
    {
        var p = store.Profile(profile, tx);
        if (p is null || p.Into != 0) return;
        var all = ProfileTimeline.Entries(store, p, tx);
        if (Ascending(all)) return;

        var sorted = all.DistinctBy(e => e.Sequence).OrderBy(e => e.Sequence).ToList();
        var chunks = new List<(long, TimelinePart?)>();
        for (var i = 0; i < p.Chunks; i++) chunks.Add((ProfileSchema.ChunkId(profile, i), null));
        var sealedChunks = 0;
        var at = 0;
        while (sorted.Count - at >= ProfileSchema.TimelineChunk && sealedChunks < ProfileSchema.MaxChunks)
        {
            var part = sorted.GetRange(at, ProfileSchema.TimelineChunk);
            chunks.Add((ProfileSchema.ChunkId(profile, sealedChunks),
                new TimelinePart(Varint.Encode(part.Select(e => e.Sequence).ToList()), EventTimes.Encode(part.Select(e => e.Ticks).ToList()))));
            sealedChunks++;
            at += ProfileSchema.TimelineChunk;
        }
        var rest = sorted.GetRange(at, sorted.Count - at);
        p.Recent = rest.Select(e => e.Sequence).ToList();
        p.RecentTimes = rest.Select(e => e.Ticks).ToList();
        p.Chunks = sealedChunks;
        store.Write(tx, new ProfileChanges { Chunks = chunks, ChangedProfiles = [p] });
    }

    private static bool Ascending(List<(long Sequence, long Ticks)> s)
    {
        for (var i = 1; i < s.Count; i++) if (s[i].Sequence <= s[i - 1].Sequence) return false;
        return true;
    }
}
