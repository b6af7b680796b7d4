using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Storage;
using LiteDB;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Cdp.Modules.Collection.DeadLetters;

internal sealed record DeadLetterError(string Field, string Message);

internal sealed record DeadLetter(long Id, string Source, DateTime ReceivedAt, int Index, IReadOnlyList<DeadLetterError> Errors, string Raw)
{
    /// <summary>A dead_letters document (written by EventLogWriter) as the API and the privacy export show it.</summary>
    public static DeadLetter FromBson(BsonDocument d) => new(
        d["_id"].AsInt64,
        d["src"].AsString,
        d["at"].AsDateTime.ToUniversalTime(),
        d["index"].AsInt32,
        d["errors"].AsArray.Select(e => new DeadLetterError(e["field"].AsString, e["message"].AsString)).ToList(),
        d["raw"].AsString);
}

internal sealed record DeadLetterPage(IReadOnlyList<DeadLetter> Items, string? NextCursor);

/// <summary>GET /api/collection/dead-letters: events that failed validation, newest first, with their reasons.</summary>
internal static class DeadLetterEndpoints
{
    public const int MaxPageSize = 500;

    public static void Map(IEndpointRouteBuilder group)
    {
        group.MapGet("/dead-letters", Results<Ok<DeadLetterPage>, ProblemHttpResult> (CdpDatabase db, string? cursor, int? limit) =>
        {
            var take = limit ?? 100;
            if (take is < 1 or > MaxPageSize) return CursorPaging.InvalidLimit(MaxPageSize);
            if (!CursorPaging.TryReadPosition(cursor, out var before)) return CursorPaging.InvalidCursor();
            var col = db.Collection(EventLogSchema.DeadLetters);
            var query = col.Query();
            if (!string.IsNullOrEmpty(cursor)) query = query.Where(Filter.LT("_id", before));
            var items = query.OrderByDescending("_id").Limit(take).ToList().Select(DeadLetter.FromBson).ToList();
            return TypedResults.Ok(new DeadLetterPage(items, items.Count == take ? CursorPaging.Format(items[^1].Id) : null));
        }).WithCursorPaging().WithName("ListDeadLetters").WithSummary("Events that failed validation, newest first, with their reasons");
    }
}
