using System.Security.Claims;
using System.Text.Json.Nodes;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Cdp.Modules.Identity.Contracts;

namespace Cdp.Modules.Governance.Privacy;

/// <summary>
/// /api/privacy: deletion (by profile id or identifier) with receipts, the suppression list, subject access export.
/// Everything needs an admin key: even reading shows who was deleted or suppressed.
/// </summary>
internal static class PrivacyEndpoints
{
    private const int MaxPage = 1000;

    public sealed record IdentifierRequest(string? IdentifierType, string? Value);

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/privacy").WithTags("Privacy").RequireAdmin();
        group.MapDelete("/profiles/{profileId}", DeleteProfile).WithSummary("Delete a person by profile id; answers the deletion receipt");
        group.MapPost("/deletions", DeleteByIdentifier).WithSummary("Delete a person by identifier ({identifierType, value}); answers the deletion receipt");
        group.MapGet("/deletions", ListDeletions).WithCursorPaging().WithSummary("Past deletion receipts, newest first; page on with cursor=nextCursor");
        group.MapGet("/deletions/{receiptId}", (string receiptId, DeletionReceipts receipts, IEnumerable<Cdp.Modules.Shared.Privacy.IPersonalDataHolder> holders) =>
            receipts.Get(receiptId) is { } r ? Results.Ok(WithFollowUp(r, holders)) : Results.NotFound());
        group.MapGet("/profiles/{profileId}/export", Export).WithSummary("Subject access request: everything held about the person, as one JSON document");
        group.MapGet("/suppressions", ListSuppressions).WithCursorPaging();
        group.MapPost("/suppressions", Suppress).WithSummary("Suppress an identifier without deleting anyone");
        group.MapDelete("/suppressions/{hash}", (string hash, SuppressionList list) =>
            list.Remove(hash) ? Results.NoContent() : Results.NotFound()).WithSummary("Un-suppress: events with the identifier are accepted again");
    }

    private static ProblemHttpResult BadRequest(string field, string message) =>
        TypedResults.Problem(detail: message, statusCode: 400, title: $"invalid {field}", extensions: new Dictionary<string, object?> { ["field"] = field });

    private static object Json(DeletionReceipt r) => new
    {
        receiptId = r.ReceiptId, profileId = r.ProfileId, requestedBy = r.RequestedBy, requestedAt = r.RequestedAt, completedAt = r.CompletedAt,
        erased = r.Erased, suppressedIdentifiers = r.SuppressedIdentifiers,
    };

    /// <summary>The receipt with each holder's follow-up (e.g. "syncs": the deletion at every destination, its outcome and when it completed).</summary>
    private static JsonObject WithFollowUp(DeletionReceipt r, IEnumerable<Cdp.Modules.Shared.Privacy.IPersonalDataHolder> holders)
    {
        var json = System.Text.Json.JsonSerializer.SerializeToNode(Json(r))!.AsObject();
        var followUp = new JsonObject();
        foreach (var h in holders)
            if (h.FollowUp(r.ReceiptId) is { } f) followUp[h.Section] = f;
        json["followUp"] = followUp;
        return json;
    }

    private static string Caller(ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.Name) ?? "unknown";

    private static async Task<IResult> DeleteProfile(string profileId, PersonalDataSubjects subjects, PersonErasure erasure, ClaimsPrincipal user, CancellationToken ct)
    {
        if (!Cdp.Modules.Identity.Contracts.ProfileIds.TryParse(profileId, out _))
            return BadRequest("profileId", "a profile id looks like p_123; to delete by identifier POST /api/privacy/deletions");
        if (subjects.ByProfileId(profileId) is not { } live) return TypedResults.NotFound();
        var receipt = await erasure.DeleteAsync(live, Caller(user), ct);
        return receipt is null ? TypedResults.NotFound() : TypedResults.Ok(Json(receipt));
    }

    private static async Task<IResult> DeleteByIdentifier(IdentifierRequest? request, PersonalDataSubjects subjects, PersonErasure erasure, ClaimsPrincipal user, CancellationToken ct)
    {
        var (key, problem) = Identifier(request, subjects);
        if (problem is not null) return problem;
        if (subjects.ByIdentifier(key!) is not { } live) return TypedResults.NotFound();
        var receipt = await erasure.DeleteAsync(live, Caller(user), ct);
        return receipt is null ? TypedResults.NotFound() : TypedResults.Ok(Json(receipt));
    }

    private static (string? Key, IResult? Problem) Identifier(IdentifierRequest? request, PersonalDataSubjects subjects)
    {
        if (request is null) return (null, BadRequest("body", "send {\"identifierType\": \"email\", \"value\": \"jane@example.com\"}"));
        if (string.IsNullOrWhiteSpace(request.IdentifierType) || !subjects.Types.Contains(request.IdentifierType))
            return (null, BadRequest("identifierType", $"identifierType must be one of: {string.Join(", ", subjects.Types)}"));
        if (string.IsNullOrWhiteSpace(request.Value)) return (null, BadRequest("value", "value is required"));
        var key = subjects.Normalise(request.IdentifierType, request.Value);
        return key is null
            ? (null, BadRequest("value", $"'{request.IdentifierType}' value does not normalise to an identifier (invalid or a blocked placeholder)"))
            : (key, null);
    }

    private static IResult Export(string profileId, PersonalDataSubjects subjects, SubjectAccessExport export)
    {
        long? live = Cdp.Modules.Identity.Contracts.ProfileIds.TryParse(profileId, out _) ? subjects.ByProfileId(profileId)
            : profileId.IndexOf(':') is > 0 and var i && subjects.Normalise(profileId[..i], profileId[(i + 1)..]) is { } key ? subjects.ByIdentifier(key)
            : null;
        if (live is null)
            return profileId.StartsWith("p_", StringComparison.Ordinal) || profileId.Contains(':') ? TypedResults.NotFound()
                : BadRequest("profileId", "a profile id looks like p_123 (or give an identifier type:value)");
        var document = export.Export(live.Value);
        return document is null ? TypedResults.NotFound() : TypedResults.Ok(document);
    }

    // the cursor of these two lists is an offset in their order (newest first), as opaque to clients as any cursor
    private static IResult ListDeletions(DeletionReceipts receipts, IEnumerable<Cdp.Modules.Shared.Privacy.IPersonalDataHolder> holders, [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        if (limit is < 1 or > MaxPage) return BadRequest("limit", $"limit must be between 1 and {MaxPage}");
        if (!CursorPaging.TryReadPosition(cursor, out var skip) || skip > int.MaxValue) return BadRequest("cursor", "cursor must be the nextCursor of a previous page");
        var take = limit ?? 100;
        var page = receipts.List((int)skip, take);
        return TypedResults.Ok(new { count = receipts.Count, deletions = page.Select(r => WithFollowUp(r, holders)), nextCursor = page.Count == take ? CursorPaging.Format(skip + take) : null });
    }

    private static IResult ListSuppressions(SuppressionList list, [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        if (limit is < 1 or > MaxPage) return BadRequest("limit", $"limit must be between 1 and {MaxPage}");
        if (!CursorPaging.TryReadPosition(cursor, out var skip) || skip > int.MaxValue) return BadRequest("cursor", "cursor must be the nextCursor of a previous page");
        var take = limit ?? 100;
        var page = list.List((int)skip, take);
        return TypedResults.Ok(new
        {
            count = list.Count,
            suppressions = page.Select(s => new { hash = s.Hash, type = s.Type, createdAt = s.CreatedAt, receiptId = s.ReceiptId }),
            nextCursor = page.Count == take ? CursorPaging.Format(skip + take) : null,
        });
    }

    private static IResult Suppress(IdentifierRequest? request, PersonalDataSubjects subjects, SuppressionList list, Cdp.Modules.Shared.Storage.CdpDatabase db, TimeProvider clock)
    {
        var (key, problem) = Identifier(request, subjects);
        if (problem is not null) return problem;
        var added = db.InTransaction(d => list.Add(d, [key!], null, clock.GetUtcNow().UtcDateTime));
        var hash = list.Hash(key!);
        var s = list.Get(hash)!;
        var body = new { hash, type = s.Type, createdAt = s.CreatedAt, receiptId = s.ReceiptId };
        return added.Count > 0 ? TypedResults.Created($"/api/privacy/suppressions/{hash}", body) : TypedResults.Ok(body);
    }
}
