using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Matching.ProfileMatching;

internal static class ReviewStatus
{
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";

    /// <summary>Closed without a decision: a merge (an event, an automatic match, another accepted pair) already made the
    /// two profiles one, or another pending item holds the same two profiles.</summary>
    public const string MergedElsewhere = "merged-elsewhere";

    public static bool IsKnown(string? s) => s is Pending or Accepted or Rejected or MergedElsewhere;
}

/// <summary>
/// A pair put in front of a person: profiles <see cref="Left"/> and <see cref="Right"/> (live when queued), the score,
/// why it was not merged automatically (<see cref="Reason"/>, null when it simply scored below AutoMerge), the breakdown.
/// </summary>
/// <param name="Impact">Source profiles an accept would join (both live sides' merges + 2): the queue's first order.</param>
/// <param name="Closed">Why a merged-elsewhere item was closed.</param>
internal sealed record ReviewItem(string Id, string Status, long Left, long Right, double Probability, double MatchWeight, DateTime CreatedAt,
    string? Reason, IReadOnlyList<MatchComparison> Comparisons, DateTime? DecidedAt = null, string? MergeId = null, long? Winner = null,
    int Impact = 2, string? Closed = null)
{
    /// <summary>Sort key of the pending queue: impact first, then score (a probability below 1 never outweighs one profile more).</summary>
    public double Rank => Impact + Probability;
}

/// <summary>
/// The review queue. Pairs are keyed by both profile numbers, order independent; a decision about (x, y) covers any
/// later pair of the live profiles that hold x and y.
/// </summary>
[Service]
internal sealed class ReviewQueue(IMatchingStore store)
{
    public ReviewItem? Get(string id) => store.Review(id);

    /// <summary>Pending: the largest change first (impact, then score); decided: latest decision first.</summary>
    public (int Total, IReadOnlyList<ReviewItem> Items) List(string status, int skip, int take) => store.ReviewPage(status, skip, take);

    public IReadOnlyList<ReviewItem> WithStatus(string status) => store.ReviewsWithStatus(status);

    public void Add(ReviewItem item) => store.AddReview(item);

    public void Update(ReviewItem item) => store.UpdateReviews([item]);

    /// <summary>
    /// Keeps the pending queue to open decisions: an item whose two profiles are one by now is closed as merged elsewhere,
    /// and so is every item but the best-scored one of a pair of live profiles that several items hold (their profiles
    /// were merged since they were queued); the others get their impact recomputed. Returns the items closed.
    /// </summary>
    public int Reconcile(IIdentityDirectory directory)
    {
        var pending = WithStatus(ReviewStatus.Pending);
        if (pending.Count == 0) return 0;
        var live = new Dictionary<long, long?>();
        long? Live(long p) => live.TryGetValue(p, out var l) ? l : live[p] = directory.LiveProfile(p);
        var sources = new Dictionary<long, int>();
        int Sources(long p) => sources.TryGetValue(p, out var n) ? n : sources[p] = (directory.Get(p)?.Merges ?? 0) + 1;
        var holder = new Dictionary<(long, long), string>();
        var changed = new List<ReviewItem>();
        var now = DateTime.UtcNow;
        var closed = 0;
        foreach (var item in pending.OrderByDescending(i => i.MatchWeight).ThenBy(i => i.Id, StringComparer.Ordinal))
        {
            if (Live(item.Left) is not { } a || Live(item.Right) is not { } b) continue; // an unmerge removed a side: accept says so
            if (a == b)
            {
                changed.Add(item with { Status = ReviewStatus.MergedElsewhere, DecidedAt = now, Winner = a, Closed = $"both profiles are now {ProfileIds.Format(a)}" });
                closed++;
                continue;
            }
            var key = a < b ? (a, b) : (b, a);
            if (holder.TryGetValue(key, out var first))
            {
                changed.Add(item with { Status = ReviewStatus.MergedElsewhere, DecidedAt = now, Closed = $"the same two profiles ({ProfileIds.Format(key.Item1)}, {ProfileIds.Format(key.Item2)}) as {first}" });
                closed++;
                continue;
            }
            holder[key] = item.Id;
            var impact = Sources(a) + Sources(b);
            if (impact != item.Impact) changed.Add(item with { Impact = impact });
        }
        if (changed.Count > 0) store.UpdateReviews(changed);
        return closed;
    }

    public static string NewId() => "rv-" + Guid.NewGuid().ToString("N")[..16];
}
