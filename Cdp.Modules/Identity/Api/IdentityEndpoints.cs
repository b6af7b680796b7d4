using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Http;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
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
        group.MapGet("/merges/{mergeId}", Results<Ok<MergeRecordJson>, NotFound> (string mergeId, IIdentityDirectory d) =>
            d.Merge(mergeId) is { } m ? TypedResults.Ok(Json(m)) : TypedResults.NotFound())
            .WithSummary("One merge record: who merged into whom, by which rule, identifiers and event (and a probabilistic merge's evidence)");
        group.MapGet("/why", Why).WithSummary("Are two profiles or identifiers one person, and through which merges");
        group.MapGet("/quarantine", Results<Ok<QuarantinePage>, ProblemHttpResult> ([FromQuery] string? cursor, [FromQuery] int? limit, IIdentityDirectory d) =>
        {
            if (limit is < 1 or > MaxQuarantinePage) return CursorPaging.InvalidLimit(MaxQuarantinePage);
            if (!CursorPaging.TryReadPosition(cursor, out var skip) || skip > int.MaxValue) return CursorPaging.InvalidCursor();
            var take = limit ?? 100;
            var entries = d.Quarantine((int)skip, take);
            return TypedResults.Ok(new QuarantinePage(entries, entries.Count == take ? CursorPaging.Format(skip + take) : null));
        }).WithCursorPaging().WithSummary("Profiles and identifiers the blob guard quarantined (no further merges through them)");
    }

    private static MergeRecordJson Json(MergeRecordView m) => m.Evidence is not { } ev
        ? new MergeRecordJson(m.Id, ProfileIds.Format(m.Winner), ProfileIds.Format(m.Loser), m.Rule, m.JoiningIdentifier, m.MatchedIdentifier, m.Sequence,
            m.Source, m.MessageId, m.At)
        : new ProbabilisticMergeJson(m.Id, ProfileIds.Format(m.Winner), ProfileIds.Format(m.Loser), m.Rule, m.JoiningIdentifier, m.MatchedIdentifier, m.Sequence,
            m.Source, m.MessageId, m.At)
        {
            Score = ev.Probability, MatchWeight = ev.MatchWeight, DecidedBy = ev.DecidedBy, MemberCheck = ev.MemberCheck,
            Comparisons = ev.Comparisons.Select(c => new ComparisonJson(c.Name, c.Level, c.Weight, c.Left, c.Right)).ToList(),
        };

    private static Results<Ok<WhyAnswer>, NotFound, ProblemHttpResult> Why([FromQuery] string? a, [FromQuery] string? b, IIdentityDirectory d)
    {
        long? Ref(string? r) => r is null ? null : ProfileIds.TryParse(r, out var no) ? no : r.Contains(':') ? d.FirstProfile(r) : null;
        if (a is null || b is null)
            return TypedResults.Problem(detail: "give both a and b: profile ids (p_123) or identifiers (email:jane@example.com)", statusCode: 400, title: "invalid a");
        var pa = Ref(a);
        var pb = Ref(b);
        if (pa is null || pb is null) return TypedResults.NotFound();
        var path = d.Explain(pa.Value, pb.Value);
        return TypedResults.Ok(path is null ? new WhyAnswer(false, a, b, []) : new WhyAnswer(true, a, b, path.Select(Json).ToList()));
    }
}

/// <summary>GET /api/identity/quarantine: a page of the quarantine list.</summary>
internal sealed record QuarantinePage(IReadOnlyList<QuarantineEntry> Entries, string? NextCursor);

/// <summary>GET /api/identity/why: whether a and b are one person, and the merges that joined them (empty when not).</summary>
internal sealed record WhyAnswer(bool SamePerson, string A, string B, IReadOnlyList<MergeRecordJson> Path);

/// <summary>A merge record as the API shows it; a probabilistic merge adds its evidence (<see cref="ProbabilisticMergeJson"/>).</summary>
[JsonDerivedType(typeof(ProbabilisticMergeJson))]
internal record MergeRecordJson(string Id, string Winner, string Loser, string Rule, string JoiningIdentifier, string MatchedIdentifier, long Sequence,
    string Source, string MessageId, DateTime At);

/// <summary>A probabilistic merge: its match probability (score), weight, who decided, the member guard's finding, each comparison.</summary>
internal sealed record ProbabilisticMergeJson(string Id, string Winner, string Loser, string Rule, string JoiningIdentifier, string MatchedIdentifier,
    long Sequence, string Source, string MessageId, DateTime At)
    : MergeRecordJson(Id, Winner, Loser, Rule, JoiningIdentifier, MatchedIdentifier, Sequence, Source, MessageId, At)
{
    [JsonPropertyOrder(1)] public double Score { get; init; }
    [JsonPropertyOrder(1)] public double MatchWeight { get; init; }
    [JsonPropertyOrder(1)] public string DecidedBy { get; init; } = "";
    [JsonPropertyOrder(1)] public string? MemberCheck { get; init; }
    [JsonPropertyOrder(1)] public IReadOnlyList<ComparisonJson> Comparisons { get; init; } = [];
}

/// <summary>One comparison of a scored pair: name, level, weight, both values.</summary>
internal sealed record ComparisonJson(string Name, string Level, double Weight, string? Left, string? Right);
