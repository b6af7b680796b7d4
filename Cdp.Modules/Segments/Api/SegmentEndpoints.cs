using System.Globalization;
using System.Text.Json.Nodes;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Evaluation;
using Cdp.Modules.Segments.Language;
using Cdp.Modules.Segments.Membership;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Storage;
using LiteDB;
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
        group.MapGet("/", List);
        group.MapPost("/", Create).RequireAdmin();
        group.MapPost("/preview", Preview).RequireAdmin();
        group.MapPost("/sweep", (SegmentEvaluation evaluation) => TypedResults.Ok(evaluation.Sweep())).RequireAdmin();
        group.MapGet("/profiles/{reference}", ProfileSegments);
        group.MapGet("/profiles/{reference}/history", ProfileHistory).WithCursorPaging();
        group.MapGet("/{key}", Get);
        group.MapPut("/{key}", Update).RequireAdmin();
        group.MapDelete("/{key}", Delete).RequireAdmin();
        group.MapGet("/{key}/members", Members).WithCursorPaging();
        group.MapGet("/{key}/history", SegmentHistory).WithCursorPaging();
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

    private static JsonObject Describe(CompiledSegment s, BsonDocument? live, SegmentEvaluation evaluation, DateTime now)
    {
        var timeDependent = SegmentRules.Events(s.Condition).Any(e => !e.Window.IsEver) || s.ReadsProfile;
        string health;
        if (s.Problem is not null) health = "error: " + s.Problem;
        else if (!s.Built) health = "building";
        else if (evaluation.LastError is { } error) health = "error: " + error;
        else if (timeDependent && live is not null && live.TryGetValue("sweep", out var sw) && Days.Of(sw.AsDateTime.ToUniversalTime()) < Days.Of(now) - 1)
            health = "stale: time windows not swept since " + sw.AsDateTime.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);
        else health = "ok";
        return new JsonObject
        {
            ["key"] = s.Key,
            ["name"] = s.Name,
            ["description"] = s.Description,
            ["where"] = s.Where,
            ["origin"] = s.Origin == SegmentOrigin.Config ? "config" : "api",
            ["readOnly"] = s.Origin == SegmentOrigin.Config,
            ["members"] = SegmentMembershipReader.Count(s.No, live),
            ["lastEvaluated"] = SegmentMembershipReader.LastEvaluated(s, live),
            ["lastSweep"] = live is not null && live.TryGetValue("sweep", out var at) ? at.AsDateTime.ToUniversalTime() : null,
            ["health"] = health,
            ["problem"] = s.Problem, // why the segment cannot be evaluated (a definition that no longer parses): it is skipped
            ["createdAt"] = s.CreatedAt,
            ["updatedAt"] = s.UpdatedAt,
        };
    }

    private static IResult List(SegmentCatalogue catalogue, SegmentMembershipReader reader, SegmentEvaluation evaluation, TimeProvider clock)
    {
        var live = reader.Live();
        var now = clock.GetUtcNow().UtcDateTime;
        return TypedResults.Ok(new JsonObject
        {
            ["segments"] = new JsonArray(catalogue.Current.Ordered.OrderBy(s => s.Key, StringComparer.OrdinalIgnoreCase)
                .Select(s => (JsonNode)Describe(s, live, evaluation, now)).ToArray()),
        });
    }

    private static IResult Get(string key, SegmentCatalogue catalogue, SegmentMembershipReader reader, SegmentEvaluation evaluation, TimeProvider clock) =>
        catalogue.Current.ByKey.TryGetValue(key, out var s)
            ? TypedResults.Ok(Describe(s, reader.Live(), evaluation, clock.GetUtcNow().UtcDateTime))
            : TypedResults.NotFound();

    private static IResult Create(SegmentRequest request, SegmentEditor editor, SegmentMembershipReader reader, SegmentEvaluation evaluation, TimeProvider clock)
    {
        if (string.IsNullOrWhiteSpace(request.Key)) return Problem(400, "key", "key is required");
        if (string.IsNullOrWhiteSpace(request.Where)) return Problem(400, "where", "where is required: the segment's condition");
        return Outcome(editor.Create(request.Key, request.Name, request.Description, request.Where), reader, evaluation, clock, created: true);
    }

    private static IResult Update(string key, SegmentRequest request, SegmentEditor editor, SegmentMembershipReader reader, SegmentEvaluation evaluation, TimeProvider clock)
    {
        if (string.IsNullOrWhiteSpace(request.Where)) return Problem(400, "where", "where is required: the segment's condition");
        return Outcome(editor.Update(key, request.Name, request.Description, request.Where), reader, evaluation, clock, created: false);
    }

    private static IResult Delete(string key, SegmentEditor editor, SegmentMembershipReader reader, SegmentEvaluation evaluation, TimeProvider clock)
    {
        var result = editor.Delete(key);
        return result.Outcome == EditOutcome.Saved ? TypedResults.NoContent() : Outcome(result, reader, evaluation, clock, false);
    }

    private static IResult Outcome(EditResult result, SegmentMembershipReader reader, SegmentEvaluation evaluation, TimeProvider clock, bool created) => result.Outcome switch
    {
        EditOutcome.Saved when created => TypedResults.Created($"/api/segments/{result.Segment!.Key}", Describe(result.Segment, reader.Live(), evaluation, clock.GetUtcNow().UtcDateTime)),
        EditOutcome.Saved => TypedResults.Ok(Describe(result.Segment!, reader.Live(), evaluation, clock.GetUtcNow().UtcDateTime)),
        EditOutcome.NotFound => TypedResults.NotFound(),
        EditOutcome.Invalid => Problem(400, result.Field!, $"{Capitalised(result.Field!)}: {result.Message}"),
        _ => Problem(409, result.Field!, result.Message!),
    };

    private static string Capitalised(string field) => char.ToUpperInvariant(field[0]) + field[1..];

    private static IResult Members(string key, SegmentCatalogue catalogue, SegmentMembershipReader reader, [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        if (!catalogue.Current.ByKey.TryGetValue(key, out var s)) return TypedResults.NotFound();
        var take = limit ?? DefaultPage;
        if (take is < 1 or > MaxPage) return CursorPaging.InvalidLimit(MaxPage);
        var page = reader.Page(s.No, cursor ?? "", take);
        return TypedResults.Ok(new JsonObject
        {
            ["segment"] = s.Key,
            ["total"] = SegmentMembershipReader.Count(s.No, reader.Live()),
            ["members"] = new JsonArray(page.Select(p => (JsonNode)p).ToArray()),
            ["nextCursor"] = page.Count == take ? page[^1] : null,
        });
    }

    private static IResult SegmentHistory(string key, SegmentCatalogue catalogue, CdpDatabase db, [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        if (!catalogue.Current.ByKey.TryGetValue(key, out var s)) return TypedResults.NotFound();
        return History(db, Filter.EQ("s", s.No), cursor, limit);
    }

    private static IResult ProfileHistory(string reference, IIdentityDirectory directory, CdpDatabase db, [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        var (profile, error) = Resolve(reference, directory);
        if (error is not null) return error;
        return History(db, Filter.EQ("p", profile), cursor, limit);
    }

    /// <summary>Newest first; <paramref name="cursor"/> is the id of the oldest entry of the previous page.</summary>
    private static IResult History(CdpDatabase db, BsonExpression filter, string? cursor, int? limit)
    {
        var take = limit ?? DefaultPage;
        if (take is < 1 or > MaxPage) return CursorPaging.InvalidLimit(MaxPage);
        if (!CursorPaging.TryReadPosition(cursor, out var before)) return CursorPaging.InvalidCursor();
        var query = db.Collection(SegmentSchema.History).Query().Where(filter);
        if (!string.IsNullOrEmpty(cursor)) query = query.Where(Filter.LT("_id", before));
        var entries = query.OrderByDescending("_id").Limit(take).ToList();
        return TypedResults.Ok(new JsonObject
        {
            ["entries"] = new JsonArray(entries.Select(e => (JsonNode)new JsonObject
            {
                ["id"] = e["_id"].AsInt64,
                ["segment"] = e["k"].AsString,
                ["profile"] = ProfileIds.Format(e["p"].AsInt64),
                ["change"] = e["in"].AsBoolean ? "entered" : "exited",
                ["at"] = e["at"].AsDateTime.ToUniversalTime(),
                ["cause"] = e["cause"].AsString,
            }).ToArray()),
            ["nextCursor"] = entries.Count == take ? CursorPaging.Format(entries[^1]["_id"].AsInt64) : null,
        });
    }

    /// <summary>Every segment with its verdict for the profile and one explanation line per condition.</summary>
    private static IResult ProfileSegments(string reference, IIdentityDirectory directory, IProfileReader profiles, SegmentCatalogue catalogue,
        CdpDatabase db, TimeProvider clock)
    {
        var (profile, error) = Resolve(reference, directory);
        if (error is not null) return error;
        var id = ProfileIds.Format(profile);
        var view = profiles.Get(id);
        if (view is null) return TypedResults.NotFound();
        var set = catalogue.Current;
        var state = db.Collection(SegmentSchema.Profiles).FindById(profile) is { } d ? ProfileSegmentState.FromBson(d) : new ProfileSegmentState(profile);
        var input = new EvaluationInput
        {
            Traits = view.Traits, Computed = view.ComputedTraits, Counters = state.Counters,
            InSegment = k => set.ByKey.TryGetValue(k, out var s) && state.Members.Contains(s.No),
            Today = Days.Of(clock.GetUtcNow().UtcDateTime),
        };
        var result = new JsonArray();
        foreach (var s in set.Ordered.OrderBy(s => s.Key, StringComparer.OrdinalIgnoreCase))
        {
            var member = state.Members.Contains(s.No);
            var lines = s.Problem is null ? ConditionEvaluator.Explain(s.Condition, input) : [];
            var reasons = string.Join("; ", lines.Where(l => l.Met == member || lines.Count == 1).Select(l => l.Detail));
            result.Add(new JsonObject
            {
                ["segment"] = s.Key,
                ["name"] = s.Name,
                ["member"] = member,
                ["explanation"] = s.Problem is not null ? "not evaluated: " + s.Problem
                    : (member ? "in because: " : "out because: ") + (member ? reasons : string.Join("; ", lines.Where(l => !l.Met).Select(l => l.Detail))),
                ["conditions"] = new JsonArray(lines.Select(l => (JsonNode)new JsonObject
                {
                    ["condition"] = l.Condition, ["met"] = l.Met, ["detail"] = l.Detail,
                }).ToArray()),
            });
        }
        return TypedResults.Ok(new JsonObject { ["profile"] = id, ["segments"] = result });
    }

    private static IResult Preview(PreviewRequest request, SegmentEditor editor, SegmentCatalogue catalogue, SegmentPreview preview, IOptions<SegmentEvaluationOptions> options)
    {
        if (string.IsNullOrWhiteSpace(request.Where)) return Problem(400, "where", "Where: is required: the draft condition");
        CompiledSegment? live = null;
        if (request.Key is not null && !catalogue.Current.ByKey.TryGetValue(request.Key, out live))
            return Problem(400, "key", $"Key: unknown segment \"{request.Key}\"");
        var (condition, problem) = editor.Check(live?.Key, request.Where);
        if (condition is null) return Problem(400, "where", "Where: " + problem);
        return TypedResults.Ok(preview.Run(condition, live, options.Value.PreviewSampleSize));
    }

    private static (long Profile, IResult? Error) Resolve(string reference, IIdentityDirectory directory)
    {
        if (ProfileIds.TryParse(reference, out var no))
        {
            var live = directory.LiveProfile(no);
            return live is null ? (0, TypedResults.NotFound()) : (live.Value, null);
        }
        if (!reference.Contains(':'))
            return (0, Problem(400, "reference", "a profile reference is a profile id (p_123) or an identifier type:value, e.g. email:jane@example.com"));
        var found = directory.FindProfile(reference);
        return found is null ? (0, TypedResults.NotFound()) : (found.Value, null);
    }
}
