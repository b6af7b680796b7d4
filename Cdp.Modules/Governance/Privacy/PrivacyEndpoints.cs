using Cdp.Modules.Pipeline.Contracts;
using System.Security.Claims;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
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
        // a deletion runs on the processor's thread: where it cannot (a follower host, a dead processor) 503 with the reason
        var group = endpoints.MapGroup("/api/privacy").WithTags("Privacy").RequireAdmin().AnswerUnavailableProcessorWith503();
        group.MapDelete("/profiles/{profileId}", DeleteProfile).RunsOnLeader().WithSummary("Delete a person by profile id; answers the deletion receipt");
        group.MapPost("/deletions", DeleteByIdentifier).RunsOnLeader().WithSummary("Delete a person by identifier ({identifierType, value}); answers the deletion receipt");
        group.MapGet("/deletions", ListDeletions).WithCursorPaging().WithSummary("Past deletion receipts, newest first; page on with cursor=nextCursor");
        group.MapGet("/deletions/{receiptId}", Results<Ok<DeletionReceiptJson>, NotFound> (string receiptId, DeletionReceipts receipts,
                IEnumerable<Cdp.Modules.Shared.Privacy.IPersonalDataHolder> holders) =>
            receipts.Get(receiptId) is { } r ? TypedResults.Ok(WithFollowUp(r, holders)) : TypedResults.NotFound())
            .WithSummary("One deletion receipt with each module's follow-up (e.g. the deletions at the destinations)");
        group.MapGet("/profiles/{profileId}/export", Export).WithSummary("Subject access request: everything held about the person, as one JSON document");
        group.MapGet("/suppressions", ListSuppressions).WithCursorPaging().WithSummary("Suppressed identifiers (hashed), newest first");
        group.MapPost("/suppressions", Suppress).WithSummary("Suppress an identifier without deleting anyone");
        group.MapDelete("/suppressions/{hash}", Results<NoContent, NotFound> (string hash, SuppressionList list) =>
            list.Remove(hash) ? TypedResults.NoContent() : TypedResults.NotFound()).WithSummary("Un-suppress: events with the identifier are accepted again");
    }

    private static ProblemHttpResult BadRequest(string field, string message) =>
        TypedResults.Problem(detail: message, statusCode: 400, title: $"invalid {field}", extensions: new Dictionary<string, object?> { ["field"] = field });

    private static DeletionReceiptJson Json(DeletionReceipt r) =>
        new(r.ReceiptId, r.ProfileId, r.RequestedBy, r.RequestedAt, r.CompletedAt, r.Erased, r.SuppressedIdentifiers, null);

    /// <summary>The receipt with each holder's follow-up (e.g. "syncs": the deletion at every destination, its outcome and when it completed).</summary>
    private static DeletionReceiptJson WithFollowUp(DeletionReceipt r, IEnumerable<Cdp.Modules.Shared.Privacy.IPersonalDataHolder> holders)
    {
        var followUp = new JsonObject();
        foreach (var h in holders)
            if (h.FollowUp(r.ReceiptId) is { } f) followUp[h.Section] = f;
        return Json(r) with { FollowUp = followUp };
    }

    private static string Caller(ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.Name) ?? "unknown";

    private static async Task<Results<Ok<DeletionReceiptJson>, NotFound, ProblemHttpResult>> DeleteProfile(string profileId, PersonalDataSubjects subjects, PersonErasure erasure, ClaimsPrincipal user, CancellationToken ct)
    {
        if (!Cdp.Modules.Identity.Contracts.ProfileIds.TryParse(profileId, out _))
            return BadRequest("profileId", "a profile id looks like p_123; to delete by identifier POST /api/privacy/deletions");
        if (subjects.ByProfileId(profileId) is not { } live) return TypedResults.NotFound();
        var receipt = await erasure.DeleteAsync(live, Caller(user), ct);
        return receipt is null ? TypedResults.NotFound() : TypedResults.Ok(Json(receipt));
    }

    private static async Task<Results<Ok<DeletionReceiptJson>, NotFound, ProblemHttpResult>> DeleteByIdentifier(IdentifierRequest? request, PersonalDataSubjects subjects, PersonErasure erasure, ClaimsPrincipal user, CancellationToken ct)
    {
        var (key, problem) = Identifier(request, subjects);
        if (problem is not null) return problem;
        if (subjects.ByIdentifier(key!) is not { } live) return TypedResults.NotFound();
        var receipt = await erasure.DeleteAsync(live, Caller(user), ct);
        return receipt is null ? TypedResults.NotFound() : TypedResults.Ok(Json(receipt));
    }

    private static (string? Key, ProblemHttpResult? Problem) Identifier(IdentifierRequest? request, PersonalDataSubjects subjects)
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

    private static Results<Ok<SubjectAccessDocument>, NotFound, ProblemHttpResult> Export(string profileId, PersonalDataSubjects subjects, SubjectAccessExport export)
    {
        long? live = Cdp.Modules.Identity.Contracts.ProfileIds.TryParse(profileId, out _) ? subjects.ByProfileId(profileId)
            : profileId.IndexOf(':') is > 0 and var i && subjects.Normalise(profileId[..i], profileId[(i + 1)..]) is { } key ? subjects.ByIdentifier(key)
            : null;
        if (live is null)
            return profileId.StartsWith("p_", StringComparison.Ordinal) || profileId.Contains(':') ? TypedResults.NotFound()
                : BadRequest("profileId", "a profile id looks like p_123 (or give an identifier type:value)");
        var document = export.Export(live.Value);
        return document is null ? TypedResults.NotFound() : TypedResults.Ok(new SubjectAccessDocument { Sections = document.ToDictionary(p => p.Key, p => (object?)p.Value) });
    }

    // the cursor of these two lists is an offset in their order (newest first), as opaque to clients as any cursor
    private static Results<Ok<DeletionPage>, ProblemHttpResult> ListDeletions(DeletionReceipts receipts, IEnumerable<Cdp.Modules.Shared.Privacy.IPersonalDataHolder> holders, [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        if (limit is < 1 or > MaxPage) return BadRequest("limit", $"limit must be between 1 and {MaxPage}");
        if (!CursorPaging.TryReadPosition(cursor, out var skip) || skip > int.MaxValue) return BadRequest("cursor", "cursor must be the nextCursor of a previous page");
        var take = limit ?? 100;
        var page = receipts.List((int)skip, take);
        return TypedResults.Ok(new DeletionPage(receipts.Count, page.Select(r => WithFollowUp(r, holders)).ToList(), page.Count == take ? CursorPaging.Format(skip + take) : null));
    }

    private static Results<Ok<SuppressionPage>, ProblemHttpResult> ListSuppressions(SuppressionList list, [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        if (limit is < 1 or > MaxPage) return BadRequest("limit", $"limit must be between 1 and {MaxPage}");
        if (!CursorPaging.TryReadPosition(cursor, out var skip) || skip > int.MaxValue) return BadRequest("cursor", "cursor must be the nextCursor of a previous page");
        var take = limit ?? 100;
        var page = list.List((int)skip, take);
        return TypedResults.Ok(new SuppressionPage(list.Count, page.Select(s => new SuppressionJson(s.Hash, s.Type, s.CreatedAt, s.ReceiptId)).ToList(),
            page.Count == take ? CursorPaging.Format(skip + take) : null));
    }

    private static Results<Created<SuppressionJson>, Ok<SuppressionJson>, ProblemHttpResult> Suppress(IdentifierRequest? request, PersonalDataSubjects subjects, SuppressionList list, Cdp.Modules.Shared.Storage.IUnitOfWorkFactory db, TimeProvider clock)
    {
        var (key, problem) = Identifier(request, subjects);
        if (problem is not null) return problem;
        var added = db.InTransaction(tx => list.Add(tx, [key!], null, clock.GetUtcNow().UtcDateTime));
        var hash = list.Hash(key!);
        var s = list.Get(hash)!;
        var body = new SuppressionJson(hash, s.Type, s.CreatedAt, s.ReceiptId);
        return added.Count > 0 ? TypedResults.Created($"/api/privacy/suppressions/{hash}", body) : TypedResults.Ok(body);
    }
}

/// <summary>A deletion receipt: what was erased, by kind (counts only); <c>followUp</c> (each module's work after the transaction) where listed.</summary>
internal sealed record DeletionReceiptJson(string ReceiptId, string ProfileId, string RequestedBy, DateTime RequestedAt, DateTime CompletedAt,
    IReadOnlyDictionary<string, long> Erased, int SuppressedIdentifiers,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonObject? FollowUp);

/// <summary>GET /api/privacy/deletions: receipts, newest first (<c>count</c> in all).</summary>
internal sealed record DeletionPage(long Count, IReadOnlyList<DeletionReceiptJson> Deletions, string? NextCursor);

/// <summary>A suppressed identifier: its hash (never the value), type, when, and the deletion that suppressed it (null: suppressed alone).</summary>
internal sealed record SuppressionJson(string Hash, string Type, DateTime CreatedAt, string? ReceiptId);

/// <summary>GET /api/privacy/suppressions (<c>count</c> in all).</summary>
internal sealed record SuppressionPage(long Count, IReadOnlyList<SuppressionJson> Suppressions, string? NextCursor);

/// <summary>GET /api/privacy/profiles/{id}/export: one JSON document whose sections are the modules' parts of the person ("events", "profile", ...).</summary>
internal sealed record SubjectAccessDocument
{
    [JsonExtensionData]
    public Dictionary<string, object?> Sections { get; init; } = [];
}
