using System.Security.Claims;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Pipeline.Processing;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Modules.Pipeline.Api;

/// <summary>
/// The events the processor set aside because they fail alone: list (reader), retry after a fix, discard (admin).
/// Every POST and DELETE is in the audit log (the audit middleware records every non-GET request under /api).
/// </summary>
internal static class ProcessorFailureEndpoints
{
    private const int DefaultPage = 50;
    private const int MaxPage = 500;

    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/processor/failures", List)
            .WithCursorPaging().WithSummary("Events set aside because they fail alone, ascending by sequence; page on with cursor=nextCursor");
        group.MapPost("/processor/failures/{sequence:long}/retry", Retry).RequireAdmin().RunsOnLeader()
            .WithSummary("Re-run a set-aside event now (after a fix): applied after the current checkpoint, then removed from the list");
        group.MapDelete("/processor/failures/{sequence:long}", Discard).RequireAdmin().RunsOnLeader()
            .WithSummary("Discard a set-aside event: it stays skipped (a reprocess skips it too) and leaves the list");
    }

    private static Results<Ok<FailurePage>, ProblemHttpResult> List(ProcessorFailures failures, [FromQuery] string? cursor, [FromQuery] int? limit,
        [FromQuery] bool? discarded)
    {
        if (limit is < 1 or > MaxPage) return CursorPaging.InvalidLimit(MaxPage);
        if (!CursorPaging.TryReadPosition(cursor, out var after)) return CursorPaging.InvalidCursor();
        var take = limit ?? DefaultPage;
        var items = failures.List(after, take, discarded ?? false);
        return TypedResults.Ok(new FailurePage(failures.Listed, items, items.Count == take ? CursorPaging.Format(items[^1].Sequence) : null));
    }

    private static async Task<Results<Ok<FailureRetried>, NotFound, ProblemHttpResult>> Retry(long sequence, ProfileProcessor processor, ProcessorFailures failures, CancellationToken ct)
    {
        FailureRetryOutcome outcome;
        // a dead processor's ProcessorUnavailableException is the /api/profiles group's 503 (PipelineModule)
        try { outcome = await processor.RetryFailureAsync(sequence, ct); }
        catch (Exception ex) when (BatchFailure.IsEnvironmental(ex))
        {
            return TypedResults.Problem(title: "the retry failed for a reason outside the event", detail: BatchFailure.Describe(ex) + "; it stays listed, try again later",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        return outcome.Status switch
        {
            "applied" => TypedResults.Ok(new FailureRetried(sequence, outcome.Status)),
            "failed again" => TypedResults.Problem(title: "the event fails again", detail: outcome.Error + "; it stays listed",
                statusCode: StatusCodes.Status409Conflict, extensions: new Dictionary<string, object?> { ["failure"] = failures.Get(sequence) }),
            "discarded" => TypedResults.Problem(title: "the event was discarded", detail: $"event {sequence} was discarded; it stays skipped",
                statusCode: StatusCodes.Status409Conflict),
            "not reached" => TypedResults.Problem(title: "a reprocess has not reached the event yet",
                detail: $"the running reprocess will try event {sequence} at its place in the log", statusCode: StatusCodes.Status409Conflict),
            _ => TypedResults.NotFound(),
        };
    }

    private static async Task<Results<NoContent, NotFound>> Discard(long sequence, ProfileProcessor processor, ClaimsPrincipal user, CancellationToken ct)
    {
        var by = user.FindFirstValue(ClaimTypes.Name) ?? "unknown";
        return await processor.DiscardFailureAsync(sequence, by, ct) ? TypedResults.NoContent() : TypedResults.NotFound();
    }

    /// <param name="Count">Listed failures in all (not discarded).</param>
    internal sealed record FailurePage(int Count, IReadOnlyList<ProcessorFailureView> Items, string? NextCursor);

    /// <summary>A retried event was applied (<c>status</c> "applied").</summary>
    internal sealed record FailureRetried(long Sequence, string Status);
}
