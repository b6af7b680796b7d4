using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Cdp.Modules.Collection.DeadLetters;

internal sealed record DeadLetterError(string Field, string Message);

internal sealed record DeadLetter(long Id, string Source, DateTime ReceivedAt, int Index, IReadOnlyList<DeadLetterError> Errors, string Raw);

internal sealed record DeadLetterPage(IReadOnlyList<DeadLetter> Items, string? NextCursor);

/// <summary>GET /api/collection/dead-letters: events that failed validation, newest first, with their reasons.</summary>
internal static class DeadLetterEndpoints
{
    public const int MaxPageSize = 500;

    public static void Map(IEndpointRouteBuilder group)
    {
        group.MapGet("/dead-letters", Results<Ok<DeadLetterPage>, ProblemHttpResult> (IDeadLetterStore store, string? cursor, int? limit) =>
        {
            var take = limit ?? 100;
            if (take is < 1 or > MaxPageSize) return CursorPaging.InvalidLimit(MaxPageSize);
            if (!CursorPaging.TryReadPosition(cursor, out var before)) return CursorPaging.InvalidCursor();
            var items = store.Newest(string.IsNullOrEmpty(cursor) ? null : before, take);
            return TypedResults.Ok(new DeadLetterPage(items, items.Count == take ? CursorPaging.Format(items[^1].Id) : null));
        }).WithCursorPaging().WithName("ListDeadLetters").WithSummary("Events that failed validation, newest first, with their reasons");
    }
}
