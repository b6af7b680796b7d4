using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Identity.ProfileMatching;

internal enum DecisionResult { Done, NotFound, Conflict }

/// <summary>Accept (merge through the identity graph, rule "probabilistic", decided by "review") or reject a queued pair; one decision at a time.</summary>
[Service]
internal sealed class ReviewDecisions(ReviewQueue queue, IIdentityDirectory directory, IProfileProcessor processor)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task<(DecisionResult Result, ReviewItem? Item, string? Message)> AcceptAsync(string id, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var item = queue.Get(id);
            if (item is null) return (DecisionResult.NotFound, null, null);
            if (item.Status != ReviewStatus.Pending) return (DecisionResult.Conflict, item, $"the pair is already {item.Status}");
            // the profiles may have been merged since the pair was queued: act on the live profiles holding them
            var left = directory.LiveProfile(item.Left);
            var right = directory.LiveProfile(item.Right);
            if (left is null || right is null)
                return (DecisionResult.Conflict, item, $"{ProfileIds.Format(left is null ? item.Left : item.Right)} no longer exists (removed by an unmerge); nothing to merge");
            if (left == right) return (DecisionResult.Conflict, item, $"the two profiles are already one ({ProfileIds.Format(left.Value)})");
            // checked on committed state first for a quick answer; the processor checks again when it applies the link
            if (directory.LinkRefusal(left.Value, right.Value) is { } refusal)
                return (DecisionResult.Conflict, item, "the merge rules refuse this merge: " + refusal);
            var link = new ProfileLink(ProfileMatcher.NewLinkId(), left.Value, right.Value,
                new MatchEvidence(item.Probability, item.MatchWeight, "review", item.Comparisons));
            var outcome = (await processor.LinkAsync([link], ct))[0];
            if (outcome.Merge is not { } merge)
                return (DecisionResult.Conflict, item, outcome.RefusalKind == LinkRefusalKind.Rules ? "the merge rules refuse this merge: " + outcome.Refusal : outcome.Refusal);
            var accepted = item with { Status = ReviewStatus.Accepted, DecidedAt = DateTime.UtcNow, MergeId = merge.MergeId, Winner = merge.Winner };
            queue.Update(accepted);
            return (DecisionResult.Done, accepted, null);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<(DecisionResult Result, ReviewItem? Item, string? Message)> RejectAsync(string id, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var item = queue.Get(id);
            if (item is null) return (DecisionResult.NotFound, null, null);
            if (item.Status == ReviewStatus.Rejected) return (DecisionResult.Done, item, null); // rejecting twice changes nothing
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
