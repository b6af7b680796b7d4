using Cdp.Modules.Pipeline.Contracts;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Cdp.Modules.Matching.Contracts;

namespace Cdp.Modules.Matching.ProfileMatching;

/// <summary>
/// /api/identity/review (the review queue: list, one item, accept, reject) and /api/identity/matching (run now, recent runs).
/// Reads need the reader role, actions the admin role.
/// </summary>
internal static class MatchingEndpoints
{
    private const int MaxTake = 500;

    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/review", List).WithCursorPaging().WithSummary("The review queue (status=pending by default), biggest impact first");
        group.MapGet("/review/{id}", Results<Ok<ReviewItemJson>, NotFound> (string id, ReviewQueue queue, IProfileReader profiles, IIdentityDirectory directory) =>
            queue.Get(id) is { } item ? TypedResults.Ok(Json(item, profiles, directory)) : TypedResults.NotFound())
            .WithSummary("One review pair: both sides as they are now, the score and its breakdown");
        group.MapPost("/review/{id}/accept", Accept).RequireAdmin().RunsOnLeader().WithSummary("Accept a pair: the two profiles merge (a probabilistic link)");
        group.MapPost("/review/accept", AcceptAll).RequireAdmin().RunsOnLeader()
            .WithSummary("Accept every pending pair scoring at least minScore, best first, with the checks of a single accept");
        group.MapPost("/review/{id}/reject", Reject).RequireAdmin().WithSummary("Reject a pair: it is not proposed again");
        group.MapPost("/matching/run", Run).RequireAdmin().RunsOnLeader().WithSummary("Run matching now (full=true: every profile; retrain=true: learn the model again)");
        group.MapGet("/matching/runs", Results<Ok<MatchRuns>, ProblemHttpResult> ([FromQuery] int? limit, IProfileMatching matching) =>
            limit is < 1 or > MaxTake
                ? CursorPaging.InvalidLimit(MaxTake)
                : TypedResults.Ok(new MatchRuns(matching.RecentRuns(limit ?? 20)))).WithCursorPaging().WithSummary("The most recent matching runs, newest first");
    }

    private static Results<Ok<ReviewPage>, ProblemHttpResult> List([FromQuery] string? status, [FromQuery] string? cursor, [FromQuery] int? limit, ReviewQueue queue, IProfileReader profiles, IIdentityDirectory directory)
    {
        status ??= ReviewStatus.Pending;
        if (!ReviewStatus.IsKnown(status)) return Problem(400, "invalid status", "status must be pending, accepted, rejected or merged-elsewhere");
        if (limit is < 1 or > MaxTake) return CursorPaging.InvalidLimit(MaxTake);
        // the cursor is the position in the queue's order (an offset): a decision taken between pages shifts it by one
        if (!CursorPaging.TryReadPosition(cursor, out var skip) || skip > int.MaxValue) return CursorPaging.InvalidCursor();
        var take = limit ?? 50;
        // merges since the last look (events, automatic matches, accepted pairs) close the items they made moot
        if (status == ReviewStatus.Pending && skip == 0) queue.Reconcile(directory);
        var (total, items) = queue.List(status, (int)skip, take);
        var next = skip + items.Count < total && items.Count == take ? CursorPaging.Format(skip + items.Count) : null;
        return TypedResults.Ok(new ReviewPage(total, items.Select(i => Json(i, profiles, directory)).ToList(), next));
    }

    private static async Task<Results<Ok<ReviewAccepted>, NotFound, ProblemHttpResult>> Accept(string id, ReviewDecisions decisions, CancellationToken ct)
    {
        var (result, item, message) = await decisions.AcceptAsync(id, ct);
        return result switch
        {
            DecisionResult.NotFound => TypedResults.NotFound(),
            DecisionResult.Conflict => Problem(409, "cannot accept", message!),
            _ => TypedResults.Ok(new ReviewAccepted(item!.MergeId, ProfileIds.Format(item.Winner!.Value))),
        };
    }

    private static async Task<Results<Ok<BulkAcceptReport>, ProblemHttpResult>> AcceptAll([FromQuery] double? minScore, ReviewDecisions decisions, CancellationToken ct)
    {
        if (minScore is not (> 0 and <= 1))
            return Problem(400, "invalid minScore", "minScore (a match probability above 0 and at most 1) is required: every pending pair scoring at least it is accepted");
        return TypedResults.Ok(await decisions.AcceptAllAsync(minScore.Value, ct));
    }

    private static async Task<Results<Ok<ReviewItemJson>, NotFound, ProblemHttpResult>> Reject(string id, ReviewDecisions decisions, IProfileReader profiles, IIdentityDirectory directory, CancellationToken ct)
    {
        var (result, item, message) = await decisions.RejectAsync(id, ct);
        return result switch
        {
            DecisionResult.NotFound => TypedResults.NotFound(),
            DecisionResult.Conflict => Problem(409, "cannot reject", message!),
            _ => TypedResults.Ok(Json(item!, profiles, directory)),
        };
    }

    private static async Task<Results<Ok<MatchRunReport>, ProblemHttpResult>> Run([FromQuery] bool? full, [FromQuery] bool? retrain, IProfileMatching matching, CancellationToken ct)
    {
        try
        {
            return TypedResults.Ok(await matching.RunAsync(full ?? false, retrain ?? false, "api", ct));
        }
        catch (MatchingBusyException ex)
        {
            return Problem(409, "matching is running", ex.Message);
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("MaxCandidatePairs", StringComparison.Ordinal))
        {
            return Problem(422, "blocking too broad", ex.Message);
        }
    }

    private static ProblemHttpResult Problem(int status, string title, string detail) => TypedResults.Problem(detail: detail, statusCode: status, title: title);

    /// <summary>The shape the admin UI reads: both sides as they are now (the live profile holding each), the score and its breakdown.</summary>
    private static ReviewItemJson Json(ReviewItem i, IProfileReader profiles, IIdentityDirectory directory) => new(
        i.Id, i.Status, i.Probability, i.MatchWeight, i.CreatedAt, i.Reason, i.Impact, i.Closed, i.DecidedAt, i.MergeId,
        Side(i.Left, profiles, directory), Side(i.Right, profiles, directory),
        i.Comparisons.Select(c => new ReviewComparison(c.Name, c.Level, c.Weight, c.Left, c.Right)).ToList());

    private static ReviewSide Side(long queued, IProfileReader profiles, IIdentityDirectory directory)
    {
        var live = directory.LiveProfile(queued) ?? queued;
        var view = profiles.Get(ProfileIds.Format(live));
        var identity = directory.Get(live);
        return new ReviewSide(ProfileIds.Format(live), view is null ? new JsonObject() : JsonNode.Parse(view.Traits.GetRawText()),
            identity?.Identifiers.Select(x => new ReviewIdentifier(x.Type, x.Value)).ToList() ?? []);
    }
}

/// <summary>GET /api/identity/review: the pairs of one status (<c>total</c> of them), a page in the queue's order.</summary>
internal sealed record ReviewPage(int Total, IReadOnlyList<ReviewItemJson> Items, string? NextCursor);

/// <summary>The shape the admin UI reads: both sides as they are now (the live profile holding each), the score and its breakdown.</summary>
internal sealed record ReviewItemJson(string Id, string Status, double Score, double MatchWeight, DateTime CreatedAt, string? Reason, int Impact,
    string? Closed, DateTime? DecidedAt, string? MergeId, ReviewSide Left, ReviewSide Right, IReadOnlyList<ReviewComparison> Comparisons);

/// <summary>One side of a pair: the live profile, its traits, its identifiers.</summary>
internal sealed record ReviewSide(string ProfileId, JsonNode? Traits, IReadOnlyList<ReviewIdentifier> Identifiers);

internal sealed record ReviewIdentifier(string Type, string Value);

internal sealed record ReviewComparison(string Name, string Level, double Weight, string? Left, string? Right);

/// <summary>POST /api/identity/review/{id}/accept: the merge the accepted pair made and the profile that won.</summary>
internal sealed record ReviewAccepted(string? MergeId, string WinnerProfileId);

/// <summary>GET /api/identity/matching/runs.</summary>
internal sealed record MatchRuns(IReadOnlyList<MatchRunReport> Runs);
