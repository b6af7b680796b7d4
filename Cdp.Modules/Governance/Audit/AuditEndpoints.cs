using System.Globalization;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cdp.Modules.Governance.Audit;

/// <summary>GET /api/audit: the audit log, oldest first, paged with cursor=nextCursor (admin only).</summary>
internal static class AuditEndpoints
{
    public const int MaxPageSize = 1000;

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/audit", Results<Ok<AuditPage>, ValidationProblem> (AuditTrail trail, string? cursor, int? limit, string? actor, string? from, string? to) =>
        {
            var errors = new Dictionary<string, string[]>();
            var n = limit ?? 100;
            if (n is < 1 or > MaxPageSize) errors["limit"] = [$"must be between 1 and {MaxPageSize}"];
            if (!CursorPaging.TryReadPosition(cursor, out var after))
                errors["cursor"] = ["must be the nextCursor of a previous page"];
            var fromTime = ParseTime(from, "from", errors);
            var toTime = ParseTime(to, "to", errors);
            if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
            var records = trail.Page(after, n, string.IsNullOrEmpty(actor) ? null : actor, fromTime, toTime);
            var next = records.Count == n ? records[^1].Id.ToString(CultureInfo.InvariantCulture) : null;
            return TypedResults.Ok(new AuditPage(records.Select(AuditRecordView.Of).ToList(), next));
        })
        .RequireAdmin()
        .WithCursorPaging()
        .WithTags("Governance")
        .WithName("ListAuditRecords")
        .WithSummary("Admin actions (who, what, when, outcome), oldest first; filter by actor and time, page with cursor=nextCursor");
    }

    private static DateTime? ParseTime(string? value, string name, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(value)) return null;
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return t.UtcDateTime;
        errors[name] = ["must be an ISO-8601 time, e.g. 2026-01-31T12:00:00Z"];
        return null;
    }
}
