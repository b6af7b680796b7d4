using Cdp.Modules.Segments.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Segments.Membership;

/// <summary>Current membership for Activation and the API (committed state, any thread).</summary>
[Service]
internal sealed class SegmentMembershipReader(CdpDatabase db, SegmentCatalogue catalogue) : ISegmentMembership
{
    /// <summary>Members read per LiteDB query: no cursor stays open while the caller works on a page.</summary>
    private const int MembersPage = 1000;

    public bool Exists(string segmentKey) => catalogue.Current.ByKey.ContainsKey(segmentKey);

    public IEnumerable<string> Members(string segmentKey)
    {
        if (!catalogue.Current.ByKey.TryGetValue(segmentKey, out var segment)) yield break;
        var after = "";
        while (true)
        {
            var page = Page(segment.No, after, MembersPage);
            foreach (var id in page) yield return id;
            if (page.Count < MembersPage) yield break;
            after = page[^1];
        }
    }

    /// <summary>Up to <paramref name="limit"/> member ids after <paramref name="after"/> (ordinal; "" = from the start).</summary>
    public List<string> Page(int segmentNo, string after, int limit) =>
        db.Collection(SegmentSchema.Members(segmentNo)).Find(Filter.GT("_id", after), limit: limit).Select(d => d["_id"].AsString).ToList();

    public long Count(string segmentKey) =>
        catalogue.Current.ByKey.TryGetValue(segmentKey, out var segment) ? Count(segment.No, Live()) : 0;

    public DateTime? LastEvaluated(string segmentKey) =>
        catalogue.Current.ByKey.TryGetValue(segmentKey, out var segment) ? LastEvaluated(segment, Live()) : null;

    public BsonDocument? Live() => db.Collection(SegmentSchema.State).FindById(SegmentSchema.LiveId);

    public static long Count(int segmentNo, BsonDocument? live) =>
        live is not null && live.TryGetValue("n", out var n) && n.AsDocument.TryGetValue(segmentNo.ToString(System.Globalization.CultureInfo.InvariantCulture), out var c) ? c.AsInt64 : 0;

    /// <summary>The latest of: real-time evaluation, sweep, build; a segment still building has not been evaluated.</summary>
    public static DateTime? LastEvaluated(CompiledSegment segment, BsonDocument? live)
    {
        if (!segment.Built || live is null) return null;
        DateTime? latest = null;
        foreach (var field in new[] { "at", "sweep", "built" })
            if (live.TryGetValue(field, out var v) && v.IsDateTime && (latest is null || v.AsDateTime.ToUniversalTime() > latest))
                latest = v.AsDateTime.ToUniversalTime();
        return latest;
    }
}
