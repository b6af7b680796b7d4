using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Matching.Engine;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Modules.Matching.ProfileMatching;

internal enum DecisionResult { Done, NotFound, Conflict }

/// <summary>What a bulk accept did: merged, closed because the profiles were one by then, refused by the merge rules (with why).</summary>
internal sealed record BulkAcceptReport(double MinScore, int Considered, int Accepted, int MergedElsewhere, IReadOnlyList<BulkRefusal> Refused);

internal sealed record BulkRefusal(string Id, string Reason);

/// <summary>Accept (merge through the identity graph, rule "probabilistic", decided by "review") or reject a queued pair; one decision at a time.</summary>
[Service]
internal sealed class ReviewDecisions(ReviewQueue queue, IIdentityDirectory directory, IProfileProcessor processor,
    MemberGuard guard, MatchingEngine engine, MatchingStore store, IProfileReader profiles)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task<(DecisionResult Result, ReviewItem? Item, string? Message)> AcceptAsync(string id, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            return await AcceptLockedAsync(id, ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Accepts every pending pair scoring at least <paramref name="minScore"/>, best first, one at a time through the same
    /// checks as a single accept (merge rules, cluster guard, already one): a pair that a previous accept of the batch
    /// made moot is closed as merged elsewhere, a refused one stays pending with its reason in the report.
    /// </summary>
    public async Task<BulkAcceptReport> AcceptAllAsync(double minScore, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var candidates = queue.WithStatus(ReviewStatus.Pending).Where(i => i.Probability >= minScore)
                .OrderByDescending(i => i.MatchWeight).ThenBy(i => i.Id, StringComparer.Ordinal).Select(i => i.Id).ToList();
            int accepted = 0, elsewhere = 0;
            var refused = new List<BulkRefusal>();
            foreach (var id in candidates)
            {
                var (result, item, message) = await AcceptLockedAsync(id, ct);
                if (result == DecisionResult.Done) accepted++;
                else if (item?.Status == ReviewStatus.MergedElsewhere) elsewhere++;
                else if (result == DecisionResult.Conflict && item?.Status == ReviewStatus.Pending) refused.Add(new BulkRefusal(id, message ?? "refused"));
            }
            return new BulkAcceptReport(minScore, candidates.Count, accepted, elsewhere, refused);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<(DecisionResult Result, ReviewItem? Item, string? Message)> AcceptLockedAsync(string id, CancellationToken ct)
    {
        {
            var item = queue.Get(id);
            if (item is null) return (DecisionResult.NotFound, null, null);
            if (item.Status != ReviewStatus.Pending) return (DecisionResult.Conflict, item, $"the pair is already {item.Status}");
            // the profiles may have been merged since the pair was queued: act on the live profiles holding them
            var left = directory.LiveProfile(item.Left);
            var right = directory.LiveProfile(item.Right);
            if (left is null || right is null)
                return (DecisionResult.Conflict, item, $"{ProfileIds.Format(left is null ? item.Left : item.Right)} no longer exists (removed by an unmerge); nothing to merge");
            if (left == right) return (DecisionResult.Conflict, CloseAsOne(item, left.Value), $"the two profiles are already one ({ProfileIds.Format(left.Value)}); the pair is closed as merged elsewhere");
            // checked on committed state first for a quick answer; the processor checks again when it applies the link
            if (directory.LinkRefusal(left.Value, right.Value) is { } refusal)
                return (DecisionResult.Conflict, item, "the merge rules refuse this merge: " + refusal);
            var check = CheckMembers(item, left.Value, right.Value);
            if (check is { Disagrees: true })
            {
                var held = item with { Reason = check.Describe() };
                queue.Update(held); // the item says why it cannot be accepted
                return (DecisionResult.Conflict, held, "the member guard refuses this merge: " + held.Reason);
            }
            var link = new ProfileLink(ProfileMatcher.NewLinkId(), left.Value, right.Value,
                new MatchEvidence(item.Probability, item.MatchWeight, "review", item.Comparisons, check?.Describe()));
            var outcome = (await processor.LinkAsync([link], ct))[0];
            if (outcome.Merge is not { } merge)
            {
                if (outcome.RefusalKind == LinkRefusalKind.AlreadyOne && directory.LiveProfile(left.Value) is { } one)
                    return (DecisionResult.Conflict, CloseAsOne(item, one), outcome.Refusal + "; the pair is closed as merged elsewhere");
                return (DecisionResult.Conflict, item, outcome.RefusalKind == LinkRefusalKind.Rules ? "the merge rules refuse this merge: " + outcome.Refusal : outcome.Refusal);
            }
            var accepted = item with { Status = ReviewStatus.Accepted, DecidedAt = DateTime.UtcNow, MergeId = merge.MergeId, Winner = merge.Winner };
            queue.Update(accepted);
            return (DecisionResult.Done, accepted, null);
        }
    }

    /// <summary>
    /// The member guard on committed state: each side's members are its current traits, the records its probabilistic
    /// merges joined, and the side's values when the pair was queued. Null when the guard is off, there is no model, or
    /// neither side has members beyond the pair itself.
    /// </summary>
    private MemberCheck? CheckMembers(ReviewItem item, long left, long right)
    {
        if (!guard.Enabled) return null;
        var l = directory.Get(left);
        var r = directory.Get(right);
        if (l is null || r is null || l.Merges + r.Merges == 0) return null;
        var plan = engine.Plan;
        var fields = ProfileMatcher.FieldsOf(plan);
        List<Member> Side(ProfileIdentity side, long queued, bool isLeft)
        {
            var current = profiles.Get(ProfileIds.Format(side.Profile)) is { } view ? ProfileMatcher.RecordOf(view, fields) : null;
            var members = guard.MembersOf(side.Profile, current, side.Merges);
            MemberGuard.Add(members, [new Member($"{ProfileIds.Format(queued)} when queued", MemberGuard.RecordOf(plan, item.Comparisons, isLeft))]);
            return members;
        }
        return guard.Check(store.LoadModel(plan), Side(l, item.Left, true), Side(r, item.Right, false));
    }

    private ReviewItem CloseAsOne(ReviewItem item, long profile)
    {
        var closed = item with { Status = ReviewStatus.MergedElsewhere, DecidedAt = DateTime.UtcNow, Winner = profile, Closed = $"both profiles are now {ProfileIds.Format(profile)}" };
        queue.Update(closed);
        return closed;
    }

    public async Task<(DecisionResult Result, ReviewItem? Item, string? Message)> RejectAsync(string id, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var item = queue.Get(id);
            if (item is null) return (DecisionResult.NotFound, null, null);
            if (item.Status == ReviewStatus.Rejected) return (DecisionResult.Done, item, null); // rejecting twice changes nothing
            if (item.Status == ReviewStatus.MergedElsewhere)
                return (DecisionResult.Conflict, item, $"the pair was closed: {item.Closed}; to separate them, unmerge the merge that joined them (GET /api/profiles/{{id}}/merges)");
            if (item.Status != ReviewStatus.Pending)
                return (DecisionResult.Conflict, item, $"the pair was accepted (merge {item.MergeId}); unmerge it instead: POST /api/identity/merges/{item.MergeId}/unmerge");
            var rejected = item with { Status = ReviewStatus.Rejected, DecidedAt = DateTime.UtcNow };
            queue.Update(rejected);
            return (DecisionResult.Done, rejected, null);
        }
        finally
        {
            _gate.Release();
        }
    }
}
