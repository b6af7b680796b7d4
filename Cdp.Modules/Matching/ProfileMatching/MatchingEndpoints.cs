using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Http;
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
        group.MapGet("/review", List).WithCursorPaging();
        group.MapGet("/review/{id}", (string id, ReviewQueue queue, IProfileReader profiles, IIdentityDirectory directory) =>
            queue.Get(id) is { } item ? Results.Ok(Json(item, profiles, directory)) : Results.NotFound());
        group.MapPost("/review/{id}/accept", Accept).RequireAdmin();
        group.MapPost("/review/accept", AcceptAll).RequireAdmin()
            .WithSummary("Accept every pending pair scoring at least minScore, best first, with the checks of a single accept");
        group.MapPost("/review/{id}/reject", Reject).RequireAdmin();
        group.MapPost("/matching/run", Run).RequireAdmin();
        group.MapGet("/matching/runs", ([FromQuery] int? limit, IProfileMatching matching) =>
            limit is < 1 or > MaxTake
                ? CursorPaging.InvalidLimit(MaxTake)
                : Results.Ok(new { runs = matching.RecentRuns(limit ?? 20) })).WithCursorPaging();
    }

    private static IResult List([FromQuery] string? status, [FromQuery] string? cursor, [FromQuery] int? limit, ReviewQueue queue, IProfileReader profiles, IIdentityDirectory directory)
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
        return Results.Ok(new { total, items = items.Select(i => Json(i, profiles, directory)), nextCursor = next });
    }

    private static async Task<IResult> Accept(string id, ReviewDecisions decisions, CancellationToken ct)
    {
        var (result, item, message) = await decisions.AcceptAsync(id, ct);
        return result switch
        {
            DecisionResult.NotFound => Results.NotFound(),
            DecisionResult.Conflict => Problem(409, "cannot accept", message!),
            _ => Results.Ok(new { mergeId = item!.MergeId, winnerProfileId = ProfileIds.Format(item.Winner!.Value) }),
        };
    }

    private static async Task<IResult> AcceptAll([FromQuery] double? minScore, ReviewDecisions decisions, CancellationToken ct)
    {
        if (minScore is not (> 0 and <= 1))
            return Problem(400, "invalid minScore", "minScore (a match probability above 0 and at most 1) is required: every pending pair scoring at least it is accepted");
        return Results.Ok(await decisions.AcceptAllAsync(minScore.Value, ct));
    }

    private static async Task<IResult> Reject(string id, ReviewDecisions decisions, IProfileReader profiles, IIdentityDirectory directory, CancellationToken ct)
    {
        var (result, item, message) = await decisions.RejectAsync(id, ct);
        return result switch
        {
            DecisionResult.NotFound => Results.NotFound(),
            DecisionResult.Conflict => Problem(409, "cannot reject", message!),
            _ => Results.Ok(Json(item!, profiles, directory)),
        };
    }

    private static async Task<IResult> Run([FromQuery] bool? full, [FromQuery] bool? retrain, IProfileMatching matching, CancellationToken ct)
    {
        try
        {
            return Results.Ok(await matching.RunAsync(full ?? false, retrain ?? false, "api", ct));
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

    private static IResult Problem(int status, string title, string detail) => Results.Problem(detail: detail, statusCode: status, title: title);

    /// <summary>The shape the admin UI reads: both sides as they are now (the live profile holding each), the score and its breakdown.</summary>
    private static object Json(ReviewItem i, IProfileReader profiles, IIdentityDirectory directory) => new
    {
        id = i.Id,
        status = i.Status,
        score = i.Probability,
        matchWeight = i.MatchWeight,
        createdAt = i.CreatedAt,
        reason = i.Reason,
        impact = i.Impact,
        closed = i.Closed,
        decidedAt = i.DecidedAt,
        mergeId = i.MergeId,
        left = Side(i.Left, profiles, directory),
        right = Side(i.Right, profiles, directory),
        comparisons = i.Comparisons.Select(c => new { name = c.Name, level = c.Level, weight = c.Weight, left = c.Left, right = c.Right }),
    };

    private static object Side(long queued, IProfileReader profiles, IIdentityDirectory directory)
    {
        var live = directory.LiveProfile(queued) ?? queued;
        var view = profiles.Get(ProfileIds.Format(live));
        var identity = directory.Get(live);
        return new
        {
            profileId = ProfileIds.Format(live),
            traits = view is null ? new JsonObject() : JsonNode.Parse(view.Traits.GetRawText()),
            identifiers = identity?.Identifiers.Select(x => new { type = x.Type, value = x.Value }).ToArray() ?? [],
        };
    }
}
