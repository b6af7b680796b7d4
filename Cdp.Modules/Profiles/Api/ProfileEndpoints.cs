using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Profiles.Projection;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Storage;
using LiteDB;
using JsonSerializer = System.Text.Json.JsonSerializer;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Cdp.Modules.Profiles.Api;

/// <summary>
/// The Profile API under /api/profiles (reader role). The processor's routes under it (/processor, /reprocess) are the
/// Pipeline module's. A profile reference is its id
/// ("p_123"; a merged-away id answers with the profile it was merged into) or an identifier "type:value"
/// (e.g. email:jane@example.com, normalised like incoming events).
/// </summary>
internal static class ProfileEndpoints
{
    private const int DefaultPage = 50;
    private const int MaxPage = 500;

    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/", List).WithCursorPaging();
        group.MapGet("/search", Search);
        group.MapGet("/accounts/{groupId}", Account);
        group.MapGet("/{reference}", Get);
        group.MapGet("/{reference}/traits", Traits);
        group.MapGet("/{reference}/traits/why", TraitsWhy)
            .WithSummary("Per trait: the survivorship rule that chose its value and the event that gave it (sequence, source, messageId, time)");
        group.MapGet("/{reference}/identifiers", Identifiers);
        group.MapGet("/{reference}/merges", Merges);
        group.MapGet("/{reference}/timeline", Timeline).WithCursorPaging();
    }

    private static ProblemHttpResult BadRequest(string field, string message) =>
        TypedResults.Problem(detail: message, statusCode: 400, title: $"invalid {field}", extensions: new Dictionary<string, object?> { ["field"] = field });

    /// <summary>Resolves a reference to a live profile number; an error result when it is malformed or unknown.</summary>
    private static (long Profile, IResult? Error) Resolve(string reference, IIdentityDirectory directory)
    {
        if (ProfileIds.TryParse(reference, out var no))
        {
            var live = directory.LiveProfile(no);
            return live is null ? (0, TypedResults.NotFound()) : (live.Value, null);
        }
        if (!reference.Contains(':'))
            return (0, BadRequest("reference", "a profile reference is a profile id (p_123) or an identifier type:value, e.g. email:jane@example.com"));
        var found = directory.FindProfile(reference);
        return found is null ? (0, TypedResults.NotFound()) : (found.Value, null);
    }

    private static JsonObject Summary(ProfileView v) => new()
    {
        ["id"] = v.Id,
        ["firstSeen"] = v.FirstSeen,
        ["lastSeen"] = v.LastSeen,
        ["events"] = v.EventCount,
        ["traits"] = JsonNode.Parse(v.Traits.GetRawText()),
    };

    private static JsonObject Full(ProfileView v, ProfileIdentity? identity, string reference)
    {
        var o = Summary(v);
        if (reference != v.Id) o["requested"] = reference;
        o["computedTraits"] = JsonNode.Parse(v.ComputedTraits.GetRawText());
        o["consent"] = ProfilePersonalData.ConsentJson(v);
        o["skipped"] = ProfilePersonalData.SkippedJson(v.Skipped);
        o["identifiers"] = IdentifierArray(identity);
        o["eventTypes"] = JsonSerializer.SerializeToNode(v.EventTypeCounts);
        o["trackEvents"] = JsonSerializer.SerializeToNode(v.TrackEventCounts);
        o["sources"] = JsonSerializer.SerializeToNode(v.Sources.ToDictionary(s => s.Key, s => new { firstSeen = s.Value.FirstSeen, lastSeen = s.Value.LastSeen, events = s.Value.Events }));
        o["groups"] = JsonSerializer.SerializeToNode(v.Groups);
        o["merges"] = identity?.Merges ?? 0;
        o["mergedProfiles"] = JsonSerializer.SerializeToNode((identity?.Absorbed ?? []).Select(ProfileIds.Format));
        var warnings = new JsonArray();
        if (identity?.Quarantine is { } q) warnings.Add($"quarantined: {q}; no further merges");
        foreach (var i in identity?.Identifiers ?? []) if (i.Quarantined) warnings.Add($"identifier {i.Type}:{i.Value} is quarantined; no further merges through it");
        o["warnings"] = warnings;
        return o;
    }

    private static JsonArray IdentifierArray(ProfileIdentity? identity) => new((identity?.Identifiers ?? []).Select(i => (JsonNode)new JsonObject
    {
        ["type"] = i.Type, ["value"] = i.Value, ["firstSeen"] = i.FirstSeen, ["lastSeen"] = i.LastSeen, ["quarantined"] = i.Quarantined,
    }).ToArray());

    private static IResult Get(string reference, IIdentityDirectory directory, ProfileReader reader)
    {
        var (no, error) = Resolve(reference, directory);
        if (error is not null) return error;
        var state = reader.Load(no);
        return state is null ? TypedResults.NotFound() : TypedResults.Ok(Full(reader.View(state), directory.Get(no), reference));
    }

    private static IResult Traits(string reference, IIdentityDirectory directory, ProfileReader reader)
    {
        var (no, error) = Resolve(reference, directory);
        if (error is not null) return error;
        var state = reader.Load(no);
        if (state is null) return TypedResults.NotFound();
        var v = reader.View(state);
        return TypedResults.Ok(new JsonObject
        {
            ["id"] = v.Id,
            ["traits"] = JsonNode.Parse(v.Traits.GetRawText()),
            ["computedTraits"] = JsonNode.Parse(v.ComputedTraits.GetRawText()),
        });
    }

    private static IResult TraitsWhy(string reference, IIdentityDirectory directory, ProfileReader reader, TraitProvenance provenance)
    {
        var (no, error) = Resolve(reference, directory);
        if (error is not null) return error;
        var state = reader.Load(no);
        return state is null ? TypedResults.NotFound() : TypedResults.Ok(provenance.Explain(state));
    }

    private static IResult Identifiers(string reference, IIdentityDirectory directory)
    {
        var (no, error) = Resolve(reference, directory);
        if (error is not null) return error;
        var identity = directory.Get(no);
        return identity is null ? TypedResults.NotFound() : TypedResults.Ok(new JsonObject { ["id"] = ProfileIds.Format(no), ["identifiers"] = IdentifierArray(identity) });
    }

    private static IResult Merges(string reference, IIdentityDirectory directory)
    {
        var (no, error) = Resolve(reference, directory);
        if (error is not null) return error;
        return TypedResults.Ok(new { id = ProfileIds.Format(no), merges = directory.MergeHistory(no).Select(MergeJson) });
    }

    internal static object MergeJson(MergeRecordView m) => new
    {
        id = m.Id, winner = ProfileIds.Format(m.Winner), loser = ProfileIds.Format(m.Loser), rule = m.Rule,
        joiningIdentifier = m.JoiningIdentifier, matchedIdentifier = m.MatchedIdentifier, sequence = m.Sequence, source = m.Source, messageId = m.MessageId, at = m.At,
    };

    private static IResult Timeline(string reference, IIdentityDirectory directory, ProfileReader reader, CdpDatabase db, IEventLog log,
        [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        var (no, error) = Resolve(reference, directory);
        if (error is not null) return error;
        var take = limit ?? DefaultPage;
        if (take is < 1 or > MaxPage) return BadRequest("limit", $"limit must be between 1 and {MaxPage}");
        var before = long.MaxValue;
        if (cursor is not null && (!long.TryParse(cursor, out before) || before < 1))
            return BadRequest("cursor", "cursor must be the nextCursor of a previous page");
        var state = reader.Load(no);
        if (state is null) return TypedResults.NotFound();
        var page = ProfileTimeline.Page(db, state, before, take + 1);
        var more = page.Count > take;
        if (more) page.RemoveAt(page.Count - 1);
        var events = new JsonArray();
        foreach (var seq in page)
        {
            var e = log.ReadAfter(seq - 1, 1);
            if (e.Count == 0 || e[0].Sequence != seq) continue;
            var node = JsonNode.Parse(e[0].Json.Span)!.AsObject();
            node["sequence"] = seq;
            node["source"] = e[0].Source;
            events.Add(node);
        }
        return TypedResults.Ok(new JsonObject
        {
            ["id"] = ProfileIds.Format(no),
            ["events"] = events,
            ["nextCursor"] = more && page.Count > 0 ? page[^1].ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
        });
    }

    private static IResult List(CdpDatabase db, ProfileReader reader, [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        var take = limit ?? DefaultPage;
        if (take is < 1 or > MaxPage) return BadRequest("limit", $"limit must be between 1 and {MaxPage}");
        long after = 0;
        if (cursor is not null && !ProfileIds.TryParse(cursor, out after)) return BadRequest("cursor", "cursor must be the nextCursor of a previous page");
        var docs = db.Collection(ProfileSchema.Profiles).Query()
            .Where(Filter.GT("_id", after)).Where("into = null")
            .OrderBy("_id").Limit(take + 1).ToList();
        var more = docs.Count > take;
        var items = docs.Take(take).Select(d => (JsonNode)Summary(reader.View(ProfileState.FromBson(d)))).ToArray();
        return TypedResults.Ok(new JsonObject
        {
            ["profiles"] = new JsonArray(items),
            ["nextCursor"] = more ? items[^1]!["id"]!.GetValue<string>() : null,
        });
    }

    private static IResult Search(CdpDatabase db, IIdentityDirectory directory, ProfileReader reader,
        [FromQuery] string? identifier, [FromQuery] string? trait, [FromQuery] string? value, [FromQuery] int? limit)
    {
        var take = limit ?? DefaultPage;
        if (take is < 1 or > MaxPage) return BadRequest("limit", $"limit must be between 1 and {MaxPage}");
        if (identifier is not null)
        {
            if (!identifier.Contains(':')) return BadRequest("identifier", "identifier must be type:value, e.g. email:jane@example.com");
            var found = directory.FindProfile(identifier);
            var state = found is null ? null : reader.Load(found.Value);
            return TypedResults.Ok(new { profiles = state is null ? [] : new[] { Summary(reader.View(state)) } });
        }
        if (string.IsNullOrWhiteSpace(trait) || value is null)
            return BadRequest("trait", "search needs identifier=type:value, or trait=<name>&value=<value>");
        if (!System.Text.RegularExpressions.Regex.IsMatch(trait, "^[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)*$"))
            return BadRequest("trait", "trait is a name or a dotted path of letters, digits and _");
        // a scan: traits have no index (indexes cost on every profile write); fine at small-team scale. DocumentScan reads
        // a document per engine call, so ingest and the processor go on during it
        var path = "$.tr." + trait;
        var docs = db.Scan(ProfileSchema.Profiles, BsonExpression.Create($"{path} = @0 OR STRING({path}) = @0", new BsonValue(value)))
            .Take(take).ToList();
        return TypedResults.Ok(new { profiles = docs.Select(d => Summary(reader.View(ProfileState.FromBson(d)))) });
    }

    private static IResult Account(string groupId, CdpDatabase db)
    {
        var d = db.Collection(ProfileSchema.Accounts).FindById(groupId);
        if (d is null) return TypedResults.NotFound();
        var members = db.Scan(ProfileSchema.Profiles, BsonExpression.Create("$.g[*] ANY = @0", new BsonValue(groupId)))
            .Take(MaxPage).Select(m => ProfileIds.Format(m["_id"].AsInt64)).ToList();
        return TypedResults.Ok(new JsonObject
        {
            ["groupId"] = groupId,
            ["traits"] = d["tr"].IsDocument ? BsonJson.ToObject(d["tr"].AsDocument) : new JsonObject(),
            ["skipped"] = d["sk"].IsDocument ? ProfilePersonalData.SkippedJson(SkippedValues.View(d["sk"].AsDocument)) : ProfilePersonalData.SkippedJson(ProfileSkips.None),
            ["members"] = JsonSerializer.SerializeToNode(members),
        });
    }
}
