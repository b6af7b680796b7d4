using System.Globalization;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cdp.Modules.Governance.Audit;

/// <summary>GET /api/audit: the audit log, oldest first (order=desc: newest first), paged with cursor=nextCursor (admin only).</summary>
internal static class AuditEndpoints
{
    public const int MaxPageSize = 1000;

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/audit", Results<Ok<AuditPage>, ValidationProblem> (AuditTrail trail, string? cursor, int? limit, string? actor, string? from, string? to, string? order) =>
        {
            var errors = new Dictionary<string, string[]>();
            var n = limit ?? 100;
            if (n is < 1 or > MaxPageSize) errors["limit"] = [$"must be between 1 and {MaxPageSize}"];
            if (!CursorPaging.TryReadPosition(cursor, out var after))
                errors["cursor"] = ["must be the nextCursor of a previous page"];
            var fromTime = ParseTime(from, "from", errors);
            var toTime = ParseTime(to, "to", errors);
            if (order is not (null or "" or "asc" or "desc")) errors["order"] = ["must be asc (oldest first, the default) or desc (newest first)"];
            if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
            var records = trail.Page(after, n, string.IsNullOrEmpty(actor) ? null : actor, fromTime, toTime, newestFirst: order == "desc");
            var next = records.Count == n ? records[^1].Id.ToString(CultureInfo.InvariantCulture) : null;
            return TypedResults.Ok(new AuditPage(records.Select(AuditRecordView.Of).ToList(), next));
        })
        .RequireAdmin()
        .WithCursorPaging()
        .WithTags("Governance")
        .WithName("ListAuditRecords")
        .WithSummary("Admin actions (who, what, when, outcome), oldest first or with order=desc newest first; filter by actor and time, page with cursor=nextCursor");

        endpoints.MapPost("/api/audit/hash", Results<Ok<AuditValueHash>, ValidationProblem> (AuditKey key, AuditValueRequest? request) =>
        {
            if (request?.Value is not { Length: > 0 and <= MaxHashedValueLength } value)
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["value"] = [$"must be a text of 1 to {MaxHashedValueLength} characters"] });
            return TypedResults.Ok(new AuditValueHash(key.Hash(value), key.LegacyHash(value)));
        })
        .RequireAdmin()
        .WithTags("Governance")
        .WithName("HashAuditValue")
        .WithSummary("The keyed hash the audit log keeps for a value (a searched name, an identifier's value), to look a known value up");
    }

    /// <summary>Longer than any identifier or search the admin API takes.</summary>
    public const int MaxHashedValueLength = 4096;

    private static DateTime? ParseTime(string? value, string name, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(value)) return null;
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return t.UtcDateTime;
        errors[name] = ["must be an ISO-8601 time, e.g. 2026-01-31T12:00:00Z"];
        return null;
    }
}

internal sealed record AuditValueRequest(string? Value);

/// <param name="Hash">As records hold it (trimmed, lower-cased before hashing); after "type:" for an identifier.</param>
/// <param name="LegacyHash">As records from before keyed hashes hold it (the value spelt exactly as it was sent).</param>
internal sealed record AuditValueHash(string Hash, string LegacyHash);
