using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cdp.Modules.Collection.EventLog;

internal sealed record LoggedEventView(long Sequence, string Source, string MessageId, DateTime ReceivedAt, JsonElement Payload);

/// <param name="NextCursor">The last sequence of this page (null on the last page): the log after it is the next page.</param>
internal sealed record EventLogPage(IReadOnlyList<LoggedEventView> Items, long LastSequence, string? NextCursor);

/// <summary>GET /api/collection/events: the raw event log in sequence order, for operators and audits.</summary>
internal static class EventLogEndpoints
{
    public const int MaxPageSize = 1000;

    public static void Map(IEndpointRouteBuilder group)
    {
        // the cursor is a sequence number: cursor=41 starts at event 42, so an operator can also jump to one event
        group.MapGet("/events", Results<Ok<EventLogPage>, ProblemHttpResult> (IEventLog log, string? cursor, int? limit) =>
        {
            var take = limit ?? 100;
            if (take is < 1 or > MaxPageSize) return CursorPaging.InvalidLimit(MaxPageSize);
            if (!CursorPaging.TryReadPosition(cursor, out var after)) return CursorPaging.InvalidCursor();
            var events = log.ReadAfter(after, take);
            var items = events.Select(e => new LoggedEventView(e.Sequence, e.Source, e.MessageId, e.ReceivedAt,
                JsonDocument.Parse(e.Json).RootElement.Clone())).ToList();
            return TypedResults.Ok(new EventLogPage(items, log.LastSequence, items.Count == take ? CursorPaging.Format(items[^1].Sequence) : null));
        }).WithCursorPaging().WithName("ListLoggedEvents").WithSummary("The event log in sequence order; page on with cursor=nextCursor (a sequence: the events after it)");
    }
}
