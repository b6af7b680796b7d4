using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Mvc;

namespace Cdp.Modules.Identity.Api;

/// <summary>
/// /api/identity: merge records, "why are A and B one person?", the blob-guard quarantine list. Unmerge (it replays events
/// through the processor) is the Pipeline module's, at /api/identity/merges/{mergeId}/unmerge.
/// </summary>
internal static class IdentityEndpoints
{
    private const int MaxQuarantinePage = 1000;

    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/merges/{mergeId}", (string mergeId, IIdentityDirectory d) =>
            d.Merge(mergeId) is { } m ? Results.Ok(Json(m)) : Results.NotFound());
        group.MapGet("/why", Why);
        group.MapGet("/quarantine", ([FromQuery] string? cursor, [FromQuery] int? limit, IIdentityDirectory d) =>
        {
            if (limit is < 1 or > MaxQuarantinePage) return CursorPaging.InvalidLimit(MaxQuarantinePage);
            if (!CursorPaging.TryReadPosition(cursor, out var skip) || skip > int.MaxValue) return CursorPaging.InvalidCursor();
            var take = limit ?? 100;
            var entries = d.Quarantine((int)skip, take);
            return Results.Ok(new { entries, nextCursor = entries.Count == take ? CursorPaging.Format(skip + take) : null });
        }).WithCursorPaging();
    }

    private static object Json(MergeRecordView m) => m.Evidence is not { } ev
        ? new
        {
            id = m.Id, winner = ProfileIds.Format(m.Winner), loser = ProfileIds.Format(m.Loser), rule = m.Rule,
            joiningIdentifier = m.JoiningIdentifier, matchedIdentifier = m.MatchedIdentifier, sequence = m.Sequence, source = m.Source, messageId = m.MessageId, at = m.At,
        }
        : new
        {
            id = m.Id, winner = ProfileIds.Format(m.Winner), loser = ProfileIds.Format(m.Loser), rule = m.Rule,
            joiningIdentifier = m.JoiningIdentifier, matchedIdentifier = m.MatchedIdentifier, sequence = m.Sequence, source = m.Source, messageId = m.MessageId, at = m.At,
            score = ev.Probability, matchWeight = ev.MatchWeight, decidedBy = ev.DecidedBy, memberCheck = ev.MemberCheck,
            comparisons = ev.Comparisons.Select(c => new { name = c.Name, level = c.Level, weight = c.Weight, left = c.Left, right = c.Right }),
        };

    private static IResult Why([FromQuery] string? a, [FromQuery] string? b, IIdentityDirectory d)
    {
        long? Ref(string? r) => r is null ? null : ProfileIds.TryParse(r, out var no) ? no : r.Contains(':') ? d.FirstProfile(r) : null;
        if (a is null || b is null)
            return Results.Problem(detail: "give both a and b: profile ids (p_123) or identifiers (email:jane@example.com)", statusCode: 400, title: "invalid a");
        var pa = Ref(a);
        var pb = Ref(b);
        if (pa is null || pb is null) return Results.NotFound();
        var path = d.Explain(pa.Value, pb.Value);
        if (path is null)
            return Results.Ok(new { samePerson = false, a, b, path = Array.Empty<object>() });
        return Results.Ok(new { samePerson = true, a, b, path = path.Select(Json) });
    }
}
