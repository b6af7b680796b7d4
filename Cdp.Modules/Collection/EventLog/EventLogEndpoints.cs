using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cdp.Modules.Collection.EventLog;

internal sealed record LoggedEventView(long Sequence, string Source, string MessageId, DateTime ReceivedAt, JsonElement Payload);

internal sealed record EventLogPage(IReadOnlyList<LoggedEventView> Items, long LastSequence, long? NextAfter);

/// <summary>GET /api/collection/events: the raw event log in sequence order, for operators and audits.</summary>
internal static class EventLogEndpoints
{
    public const int MaxPageSize = 1000;

    public static void Map(IEndpointRouteBuilder group)
    {
        group.MapGet("/events", Results<Ok<EventLogPage>, ValidationProblem> (IEventLog log, long? after, int? limit) =>
        {
            var take = limit ?? 100;
            if (take is < 1 or > MaxPageSize)
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"must be between 1 and {MaxPageSize}"] });
            if (after is < 0)
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["after"] = ["must be 0 or a sequence number"] });
            var events = log.ReadAfter(after ?? 0, take);
            var items = events.Select(e => new LoggedEventView(e.Sequence, e.Source, e.MessageId, e.ReceivedAt,
                JsonDocument.Parse(e.Json).RootElement.Clone())).ToList();
            return TypedResults.Ok(new EventLogPage(items, log.LastSequence, items.Count == take ? items[^1].Sequence : null));
        }).WithName("ListLoggedEvents").WithSummary("The event log in sequence order (cursor: after)");
    }
}
