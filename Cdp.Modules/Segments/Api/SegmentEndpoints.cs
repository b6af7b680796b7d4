using Cdp.Modules.Pipeline.Contracts;
using System.Globalization;
using System.Text.Json.Serialization;
using System.Text.Json.Nodes;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Evaluation;
using Cdp.Modules.Segments.Language;
using Cdp.Modules.Segments.Membership;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Segments.Api;

internal sealed record SegmentRequest(string? Key, string? Name, string? Description, string? Where);

internal sealed record PreviewRequest(string? Where, string? Key);

/// <summary>The Segments API under /api/segments: reader role for reads, admin for changes, preview and sweeps.</summary>
internal static class SegmentEndpoints
{
    private const int DefaultPage = 100;
    private const int MaxPage = 1000;

    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/", List).WithSummary("Every segment with its definition, members, last evaluation and health");
        group.MapPost("/", Create).RequireAdmin().WithSummary("Create a segment (key, name, description, where); it is built from the current profiles");
        group.MapPost("/preview", Preview).RequireAdmin().WithSummary("Evaluate a draft condition on the profiles without saving it: count, sample, differences");
        group.MapPost("/sweep", (SegmentEvaluation evaluation) => TypedResults.Ok(evaluation.Sweep())).RequireAdmin().RunsOnLeader()
            .WithSummary("Re-evaluate the time windows of every segment now (what the daily sweep does)");
        group.MapGet("/profiles/{reference}", ProfileSegments).WithSummary("Every segment's verdict for one profile, explained condition by condition");
        group.MapGet("/profiles/{reference}/history", ProfileHistory).WithCursorPaging().WithSummary("A profile's segment entries and exits, newest first");
        group.MapGet("/{key}", Get).WithSummary("One segment");
        group.MapPut("/{key}", Update).RequireAdmin().WithSummary("Change a segment's name, description or condition");
        group.MapDelete("/{key}", Delete).RequireAdmin().WithSummary("Delete a segment made through the API (configured ones are read-only)");
        group.MapGet("/{key}/members", Members).WithCursorPaging().WithSummary("A page of the segment's member profile ids");
        group.MapGet("/{key}/history", SegmentHistory).WithCursorPaging().WithSummary("The segment's entries and exits, newest first");
    }

    /// <summary>A problem document; a definition problem also carries its "line" and "column" in the condition.</summary>
    private static ProblemHttpResult Problem(int status, string field, string message)
    {
        var extensions = new Dictionary<string, object?> { ["field"] = field };
        if (field == "where" && SegmentSyntaxException.PositionOf(message) is var (line, column))
        {
            extensions["line"] = line;
            extensions["column"] = column;
        }
        return TypedResults.Problem(detail: message, statusCode: status, title: status == 400 ? $"invalid {field}" : "conflict", extensions: extensions);
    }

    private static SegmentView Describe(CompiledSegment s, SegmentLive live, SegmentEvaluation evaluation, SegmentPlanWarnings plans, DateTime now)
    {
        var timeDependent = SegmentRules.Events(s.Condition).Any(e => !e.Window.IsEver) || s.ReadsProfile;
        string health;
        if (s.Problem is not null) health = "error: " + s.Problem;
        else if (!s.Built) health = "building";
        else if (evaluation.LastError is { } error) health = "error: " + error;
        else if (timeDependent && live.Time(SegmentLive.Sweep) is { } sw && Days.Of(sw) < Days.Of(now) - 1)
            health = "stale: time windows not swept since " + sw.ToString("O", CultureInfo.InvariantCulture);
        else health = "ok";
        return new SegmentView(s.Key, s.Name, s.Description, s.Where, s.Origin == SegmentOrigin.Config ? "config" : "api", s.Origin == SegmentOrigin.Config,
            SegmentMembershipReader.Count(s.No, live), SegmentMembershipReader.LastEvaluated(s, live),
            live.Time(SegmentLive.Sweep),
            health, s.Problem, s.CreatedAt, s.UpdatedAt, Warnings(s, plans));
    }

    /// <summary>The tracking-plan warnings of a segment's condition (<see cref="SegmentPlanWarnings"/>); null when none, so the field is absent.</summary>
    private static IReadOnlyList<string>? Warnings(CompiledSegment s, SegmentPlanWarnings plans)
    {
        if (s.Problem is not null) return null;
        var warnings = plans.Of(s.Condition);
        return warnings.Count > 0 ? warnings : null;
    }

    private static Ok<SegmentList> List(SegmentCatalogue catalogue, SegmentMembershipReader reader, SegmentEvaluation evaluation, SegmentPlanWarnings plans, TimeProvider clock)
    {
        var live = reader.Live();
        var now = clock.GetUtcNow().UtcDateTime;
        return TypedResults.Ok(new SegmentList(catalogue.Current.Ordered.OrderBy(s => s.Key, StringComparer.OrdinalIgnoreCase)
            .Select(s => Describe(s, live, evaluation, plans, now)).ToList()));
    }

    private static Results<Ok<SegmentView>, NotFound> Get(string key, SegmentCatalogue catalogue, SegmentMembershipReader reader, SegmentEvaluation evaluation,
        SegmentPlanWarnings plans, TimeProvider clock) =>
        catalogue.Current.ByKey.TryGetValue(key, out var s)
            ? TypedResults.Ok(Describe(s, reader.Live(), evaluation, plans, clock.GetUtcNow().UtcDateTime))
            : TypedResults.NotFound();

    private static Results<Created<SegmentView>, Ok<SegmentView>, NotFound, ProblemHttpResult> Create(SegmentRequest request, SegmentEditor editor, SegmentMembershipReader reader, SegmentEvaluation evaluation,
        SegmentPlanWarnings plans, TimeProvider clock)
    {
        if (string.IsNullOrWhiteSpace(request.Key)) return Problem(400, "key", "key is required");
        if (string.IsNullOrWhiteSpace(request.Where)) return Problem(400, "where", "where is required: the segment's condition");
        return Outcome(editor.Create(request.Key, request.Name, request.Description, request.Where), reader, evaluation, plans, clock, created: true);
    }

    private static Results<Created<SegmentView>, Ok<SegmentView>, NotFound, ProblemHttpResult> Update(string key, SegmentRequest request, SegmentEditor editor, SegmentMembershipReader reader, SegmentEvaluation evaluation,
        SegmentPlanWarnings plans, TimeProvider clock)
    {
        if (string.IsNullOrWhiteSpace(request.Where)) return Problem(400, "where", "where is required: the segment's condition");
        return Outcome(editor.Update(key, request.Name, request.Description, request.Where), reader, evaluation, plans, clock, created: false);
    }

    private static Results<NoContent, NotFound, ProblemHttpResult> Delete(string key, SegmentEditor editor)
    {
        var result = editor.Delete(key);
        return result.Outcome switch
        {
            EditOutcome.Saved => TypedResults.NoContent(),
            EditOutcome.NotFound => TypedResults.NotFound(),
            _ => Failed(result),
        };
    }

    private static Results<Created<SegmentView>, Ok<SegmentView>, NotFound, ProblemHttpResult> Outcome(EditResult result, SegmentMembershipReader reader,
        SegmentEvaluation evaluation, SegmentPlanWarnings plans, TimeProvider clock, bool created) => result.Outcome switch
    {
        EditOutcome.Saved when created => TypedResults.Created($"/api/segments/{result.Segment!.Key}", Describe(result.Segment, reader.Live(), evaluation, plans, clock.GetUtcNow().UtcDateTime)),
        EditOutcome.Saved => TypedResults.Ok(Describe(result.Segment!, reader.Live(), evaluation, plans, clock.GetUtcNow().UtcDateTime)),
        EditOutcome.NotFound => TypedResults.NotFound(),
        _ => Failed(result),
    };

    /// <summary>An edit refused: 400 for an invalid definition, 409 for a conflict (read-only, exists...).</summary>
    private static ProblemHttpResult Failed(EditResult result) => result.Outcome == EditOutcome.Invalid
        ? Problem(400, result.Field!, $"{Capitalised(result.Field!)}: {result.Message}")
        : Problem(409, result.Field!, result.Message!);

    private static string Capitalised(string field) => char.ToUpperInvariant(field[0]) + field[1..];

    private static Results<Ok<SegmentMembers>, NotFound, ProblemHttpResult> Members(string key, SegmentCatalogue catalogue, SegmentMembershipReader reader, [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        if (!catalogue.Current.ByKey.TryGetValue(key, out var s)) return TypedResults.NotFound();
        var take = limit ?? DefaultPage;
        if (take is < 1 or > MaxPage) return CursorPaging.InvalidLimit(MaxPage);
        var page = reader.Page(s.No, cursor ?? "", take);
        return TypedResults.Ok(new SegmentMembers(s.Key, SegmentMembershipReader.Count(s.No, reader.Live()), page, page.Count == take ? page[^1] : null));
    }

    private static Results<Ok<MembershipHistory>, NotFound, ProblemHttpResult> SegmentHistory(string key, SegmentCatalogue catalogue, ISegmentStore db, [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        if (!catalogue.Current.ByKey.TryGetValue(key, out var s)) return TypedResults.NotFound();
        return History(db, s.No, null, cursor, limit);
    }

    private static Results<Ok<MembershipHistory>, NotFound, ProblemHttpResult> ProfileHistory(string reference, IIdentityDirectory directory, ISegmentStore db,
        [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        var (profile, invalid) = Resolve(reference, directory);
        if (invalid is not null) return invalid;
        if (profile == 0) return TypedResults.NotFound();
        return History(db, null, profile, cursor, limit);
    }

    /// <summary>Newest first; <paramref name="cursor"/> is the id of the oldest entry of the previous page.</summary>
    private static Results<Ok<MembershipHistory>, NotFound, ProblemHttpResult> History(ISegmentStore db, int? segmentNo, long? profile, string? cursor, int? limit)
    {
        var take = limit ?? DefaultPage;
        if (take is < 1 or > MaxPage) return CursorPaging.InvalidLimit(MaxPage);
        if (!CursorPaging.TryReadPosition(cursor, out var before)) return CursorPaging.InvalidCursor();
        var entries = db.History(segmentNo, profile, string.IsNullOrEmpty(cursor) ? null : before, take);
        return TypedResults.Ok(new MembershipHistory(entries.Select(e => new MembershipChange(e.Id, e.Key, ProfileIds.Format(e.Profile),
                e.Entered ? "entered" : "exited", e.At, e.Cause)).ToList(),
            entries.Count == take ? CursorPaging.Format(entries[^1].Id) : null));
    }

    /// <summary>Every segment with its verdict for the profile and one explanation line per condition.</summary>
    private static Results<Ok<ProfileSegmentsView>, NotFound, ProblemHttpResult> ProfileSegments(string reference, IIdentityDirectory directory, IProfileReader profiles, SegmentCatalogue catalogue,
        ISegmentStore db, TimeProvider clock)
    {
        var (profile, invalid) = Resolve(reference, directory);
        if (invalid is not null) return invalid;
        if (profile == 0) return TypedResults.NotFound();
        var id = ProfileIds.Format(profile);
        var view = profiles.Get(id);
        if (view is null) return TypedResults.NotFound();
        var set = catalogue.Current;
        var state = db.State(profile) ?? new ProfileSegmentState(profile);
        var input = new EvaluationInput
        {
            Traits = view.Traits, Computed = view.ComputedTraits, Counters = state.Counters,
            InSegment = k => set.ByKey.TryGetValue(k, out var s) && state.Members.Contains(s.No),
            Today = Days.Of(clock.GetUtcNow().UtcDateTime),
        };
        var result = new List<ProfileSegmentVerdict>();
        foreach (var s in set.Ordered.OrderBy(s => s.Key, StringComparer.OrdinalIgnoreCase))
        {
            var member = state.Members.Contains(s.No);
            var lines = s.Problem is null ? ConditionEvaluator.Explain(s.Condition, input) : [];
            var reasons = string.Join("; ", lines.Where(l => l.Met == member || lines.Count == 1).Select(l => l.Detail));
            result.Add(new ProfileSegmentVerdict(s.Key, s.Name, member,
                s.Problem is not null ? "not evaluated: " + s.Problem
                    : (member ? "in because: " : "out because: ") + (member ? reasons : string.Join("; ", lines.Where(l => !l.Met).Select(l => l.Detail))),
                lines.Select(l => new ConditionVerdict(l.Condition, l.Met, l.Detail)).ToList()));
        }
        return TypedResults.Ok(new ProfileSegmentsView(id, result));
    }

    private static Results<Ok<PreviewResult>, ProblemHttpResult> Preview(PreviewRequest request, SegmentEditor editor, SegmentCatalogue catalogue, SegmentPreview preview,
        SegmentPlanWarnings plans, IOptions<SegmentEvaluationOptions> options)
    {
        if (string.IsNullOrWhiteSpace(request.Where)) return Problem(400, "where", "Where: is required: the draft condition");
        CompiledSegment? live = null;
        if (request.Key is not null && !catalogue.Current.ByKey.TryGetValue(request.Key, out live))
            return Problem(400, "key", $"Key: unknown segment \"{request.Key}\"");
        var (condition, problem) = editor.Check(live?.Key, request.Where);
        if (condition is null) return Problem(400, "where", "Where: " + problem);
        var warnings = plans.Of(condition);
        return TypedResults.Ok(preview.Run(condition, live, options.Value.PreviewSampleSize) with { Warnings = warnings.Count > 0 ? warnings : null });
    }

    /// <summary>A reference to a live profile number; <c>Invalid</c> when it is malformed, <c>Profile</c> 0 when unknown.</summary>
    private static (long Profile, ProblemHttpResult? Invalid) Resolve(string reference, IIdentityDirectory directory)
    {
        if (ProfileIds.TryParse(reference, out var no)) return (directory.LiveProfile(no) ?? 0, null);
        if (!reference.Contains(':'))
            return (0, Problem(400, "reference", "a profile reference is a profile id (p_123) or an identifier type:value, e.g. email:jane@example.com"));
        return (directory.FindProfile(reference) ?? 0, null);
    }
}

/// <summary>A segment as the API shows it: definition, origin, members, when evaluated and swept, health.</summary>
/// <param name="Problem">Why the segment cannot be evaluated (a definition that no longer parses): it is skipped.</param>
/// <param name="Warnings">
/// Track events or event properties the condition names that no source's tracking plan has (it may then never match);
/// absent when there are none. The segment is saved and evaluated all the same.
/// </param>
internal sealed record SegmentView(string Key, string Name, string? Description, string Where, string Origin, bool ReadOnly, long Members,
    DateTime? LastEvaluated, DateTime? LastSweep, string Health, string? Problem, DateTime CreatedAt, DateTime UpdatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Warnings = null);

/// <summary>GET /api/segments: every segment by key.</summary>
internal sealed record SegmentList(IReadOnlyList<SegmentView> Segments);

/// <summary>GET /api/segments/{key}/members: a page of member profile ids.</summary>
internal sealed record SegmentMembers(string Segment, long Total, IReadOnlyList<string> Members, string? NextCursor);

/// <summary>Membership changes, newest first.</summary>
internal sealed record MembershipHistory(IReadOnlyList<MembershipChange> Entries, string? NextCursor);

/// <summary>A profile entered or exited a segment, when and why.</summary>
internal sealed record MembershipChange(long Id, string Segment, string Profile, string Change, DateTime At, string Cause);

/// <summary>GET /api/segments/profiles/{reference}: every segment's verdict for the profile.</summary>
internal sealed record ProfileSegmentsView(string Profile, IReadOnlyList<ProfileSegmentVerdict> Segments);

/// <summary>One segment's verdict for a profile, with one explanation line per condition.</summary>
internal sealed record ProfileSegmentVerdict(string Segment, string Name, bool Member, string Explanation, IReadOnlyList<ConditionVerdict> Conditions);

internal sealed record ConditionVerdict(string Condition, bool Met, string Detail);
