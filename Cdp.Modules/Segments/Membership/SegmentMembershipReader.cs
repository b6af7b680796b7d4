using Cdp.Modules.Segments.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Segments.Membership;

/// <summary>Current membership for Activation and the API (committed state, any thread).</summary>
[Service]
internal sealed class SegmentMembershipReader(ISegmentStore store, SegmentCatalogue catalogue) : ISegmentMembership
{
    /// <summary>Members read per query: no cursor stays open while the caller works on a page.</summary>
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
        store.MemberPage(segmentNo, after, limit);

    public long Count(string segmentKey) =>
        catalogue.Current.ByKey.TryGetValue(segmentKey, out var segment) ? Count(segment.No, Live()) : 0;

    public DateTime? LastEvaluated(string segmentKey) =>
        catalogue.Current.ByKey.TryGetValue(segmentKey, out var segment) ? LastEvaluated(segment, Live()) : null;

    public SegmentLive Live() => store.Live();

    public static long Count(int segmentNo, SegmentLive live) => live.Count(segmentNo);

    /// <summary>The latest of: real-time evaluation, sweep, build; a segment still building has not been evaluated.</summary>
    public static DateTime? LastEvaluated(CompiledSegment segment, SegmentLive live)
    {
        if (!segment.Built) return null;
        DateTime? latest = null;
        foreach (var field in new[] { SegmentLive.RealTime, SegmentLive.Sweep, SegmentLive.Built })
            if (live.Time(field) is { } at && (latest is null || at > latest)) latest = at;
        return latest;
    }
}
