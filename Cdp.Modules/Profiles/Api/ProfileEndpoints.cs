using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Profiles.Projection;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Storage;
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
        group.MapGet("/", List).WithCursorPaging().WithSummary("Live profiles by number (summary: id, first and last seen, events, traits)");
        group.MapGet("/search", Search).WithSummary("Find profiles by identifier=type:value or by trait=<name>&value=<value>");
        group.MapGet("/accounts/{groupId}", Account).WithSummary("An account (group): its traits and member profiles");
        group.MapGet("/{reference}", Get).WithSummary("One profile by id (p_123) or identifier (type:value), with everything it holds");
        group.MapGet("/{reference}/traits", Traits).WithSummary("A profile's traits and computed traits");
        group.MapGet("/{reference}/traits/why", TraitsWhy)
            .WithSummary("Per trait: the survivorship rule that chose its value and the event that gave it (sequence, source, messageId, time)");
        group.MapGet("/{reference}/identifiers", Identifiers).WithSummary("A profile's identifiers, first and last seen, quarantined ones marked");
        group.MapGet("/{reference}/merges", Merges).WithSummary("The merge records of a profile's history");
        group.MapGet("/{reference}/timeline", Timeline).WithCursorPaging()
            .WithSummary("A profile's events, newest first by event time, as the log holds them (with sequence, source and receivedAt)");
    }

    private static ProblemHttpResult BadRequest(string field, string message) =>
        TypedResults.Problem(detail: message, statusCode: 400, title: $"invalid {field}", extensions: new Dictionary<string, object?> { ["field"] = field });

    /// <summary>Resolves a reference to a live profile number; <c>Invalid</c> when it is malformed, <c>Profile</c> 0 when unknown.</summary>
    private static (long Profile, ProblemHttpResult? Invalid) Resolve(string reference, IIdentityDirectory directory)
    {
        if (ProfileIds.TryParse(reference, out var no)) return (directory.LiveProfile(no) ?? 0, null);
        if (!reference.Contains(':'))
            return (0, BadRequest("reference", "a profile reference is a profile id (p_123) or an identifier type:value, e.g. email:jane@example.com"));
        return (directory.FindProfile(reference) ?? 0, null);
    }

    private static ProfileSummary Summary(ProfileView v) => new(v.Id, v.FirstSeen, v.LastSeen, v.EventCount, v.Traits);

    private static ProfileDetail Full(ProfileView v, ProfileIdentity? identity, string reference)
    {
        var warnings = new List<string>();
        if (identity?.Quarantine is { } q) warnings.Add($"quarantined: {q}; no further merges");
        foreach (var i in identity?.Identifiers ?? []) if (i.Quarantined) warnings.Add($"identifier {i.Type}:{i.Value} is quarantined; no further merges through it");
        return new ProfileDetail(v.Id, v.FirstSeen, v.LastSeen, v.EventCount, v.Traits, reference != v.Id ? reference : null, v.ComputedTraits,
            ProfilePersonalData.ConsentJson(v), ProfilePersonalData.SkippedJson(v.Skipped), IdentifierList(identity), v.EventTypeCounts, v.TrackEventCounts,
            v.Sources.ToDictionary(s => s.Key, s => new SourceSeen(s.Value.FirstSeen, s.Value.LastSeen, s.Value.Events)), v.Groups,
            identity?.Merges ?? 0, (identity?.Absorbed ?? []).Select(ProfileIds.Format).ToList(), warnings);
    }

    private static List<ProfileIdentifier> IdentifierList(ProfileIdentity? identity) =>
        (identity?.Identifiers ?? []).Select(i => new ProfileIdentifier(i.Type, i.Value, i.FirstSeen, i.LastSeen, i.Quarantined)).ToList();

    private static Results<Ok<ProfileDetail>, NotFound, ProblemHttpResult> Get(string reference, IIdentityDirectory directory, ProfileReader reader)
    {
        var (no, invalid) = Resolve(reference, directory);
        if (invalid is not null) return invalid;
        var state = no == 0 ? null : reader.Load(no);
        return state is null ? TypedResults.NotFound() : TypedResults.Ok(Full(reader.View(state), directory.Get(no), reference));
    }

    private static Results<Ok<ProfileTraits>, NotFound, ProblemHttpResult> Traits(string reference, IIdentityDirectory directory, ProfileReader reader)
    {
        var (no, invalid) = Resolve(reference, directory);
        if (invalid is not null) return invalid;
        var state = no == 0 ? null : reader.Load(no);
        if (state is null) return TypedResults.NotFound();
        var v = reader.View(state);
        return TypedResults.Ok(new ProfileTraits(v.Id, v.Traits, v.ComputedTraits));
    }

    private static Results<Ok<TraitExplanation>, NotFound, ProblemHttpResult> TraitsWhy(string reference, IIdentityDirectory directory, ProfileReader reader, TraitProvenance provenance)
    {
        var (no, invalid) = Resolve(reference, directory);
        if (invalid is not null) return invalid;
        var state = no == 0 ? null : reader.Load(no);
        return state is null ? TypedResults.NotFound() : TypedResults.Ok(provenance.Explain(state));
    }

    private static Results<Ok<ProfileIdentifiers>, NotFound, ProblemHttpResult> Identifiers(string reference, IIdentityDirectory directory)
    {
        var (no, invalid) = Resolve(reference, directory);
        if (invalid is not null) return invalid;
        var identity = no == 0 ? null : directory.Get(no);
        return identity is null ? TypedResults.NotFound() : TypedResults.Ok(new ProfileIdentifiers(ProfileIds.Format(no), IdentifierList(identity)));
    }

    private static Results<Ok<ProfileMerges>, NotFound, ProblemHttpResult> Merges(string reference, IIdentityDirectory directory)
    {
        var (no, invalid) = Resolve(reference, directory);
        if (invalid is not null) return invalid;
        if (no == 0) return TypedResults.NotFound();
        return TypedResults.Ok(new ProfileMerges(ProfileIds.Format(no), directory.MergeHistory(no).Select(MergeOf).ToList()));
    }

    private static ProfileMerge MergeOf(MergeRecordView m) => new(m.Id, ProfileIds.Format(m.Winner), ProfileIds.Format(m.Loser), m.Rule,
        m.JoiningIdentifier, m.MatchedIdentifier, m.Sequence, m.Source, m.MessageId, m.At);

    /// <summary>
    /// Newest first by event time (ties: the later sequence first), whatever order the events arrived in. The cursor is
    /// "ticks.sequence" of the last event of the previous page, so paging neither repeats nor skips an event. Timeline
    /// parts written before event times were kept (older databases) take theirs from the log here, once per request.
    /// </summary>
    private static Results<Ok<ProfileTimelinePage>, NotFound, ProblemHttpResult> Timeline(string reference, IIdentityDirectory directory, ProfileReader reader,
        IProfileStore db, IEventLog log, [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        var (no, invalid) = Resolve(reference, directory);
        if (invalid is not null) return invalid;
        if (no == 0) return TypedResults.NotFound();
        var take = limit ?? DefaultPage;
        if (take is < 1 or > MaxPage) return BadRequest("limit", $"limit must be between 1 and {MaxPage}");
        var after = (Ticks: long.MaxValue, Sequence: long.MaxValue);
        if (cursor is not null && !TryReadTimelineCursor(cursor, out after))
            return BadRequest("cursor", "cursor must be the nextCursor of a previous page");
        var state = reader.Load(no);
        if (state is null) return TypedResults.NotFound();
        var entries = ProfileTimeline.Entries(db, state);
        for (var i = 0; i < entries.Count; i++)
            if (entries[i].Ticks == EventTimes.Unknown && log.ReadAfter(entries[i].Sequence - 1, 1) is [var old] && old.Sequence == entries[i].Sequence)
                entries[i] = (old.Sequence, ProfileWork.EventTime(old).Ticks);
        var page = entries.Where(e => e.Ticks < after.Ticks || (e.Ticks == after.Ticks && e.Sequence < after.Sequence))
            .OrderByDescending(e => e.Ticks).ThenByDescending(e => e.Sequence).Take(take + 1).ToList();
        var more = page.Count > take;
        if (more) page.RemoveAt(page.Count - 1);
        var events = new List<JsonObject>();
        foreach (var (seq, _) in page)
        {
            var e = log.ReadAfter(seq - 1, 1);
            if (e.Count == 0 || e[0].Sequence != seq) continue;
            var node = JsonNode.Parse(e[0].Json.Span)!.AsObject();
            node["sequence"] = seq;
            node["source"] = e[0].Source;
            node["receivedAt"] = e[0].ReceivedAt;
            events.Add(node);
        }
        return TypedResults.Ok(new ProfileTimelinePage(ProfileIds.Format(no), events,
            more && page.Count > 0 ? TimelineCursor(page[^1].Ticks, page[^1].Sequence) : null));
    }

    private static string TimelineCursor(long ticks, long sequence) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ticks}.{sequence}");

    private static bool TryReadTimelineCursor(string cursor, out (long Ticks, long Sequence) after)
    {
        after = default;
        var dot = cursor.IndexOf('.');
        return dot > 0
            && long.TryParse(cursor.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out after.Ticks)
            && long.TryParse(cursor.AsSpan(dot + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out after.Sequence)
            && after.Sequence >= 1;
    }

    private static Results<Ok<ProfilePage>, ProblemHttpResult> List(IProfileStore db, ProfileReader reader, [FromQuery] string? cursor, [FromQuery] int? limit)
    {
        var take = limit ?? DefaultPage;
        if (take is < 1 or > MaxPage) return BadRequest("limit", $"limit must be between 1 and {MaxPage}");
        long after = 0;
        if (cursor is not null && !ProfileIds.TryParse(cursor, out after)) return BadRequest("cursor", "cursor must be the nextCursor of a previous page");
        var docs = db.LiveAfter(after, take + 1);
        var more = docs.Count > take;
        var items = docs.Take(take).Select(d => Summary(reader.View(d))).ToList();
        return TypedResults.Ok(new ProfilePage(items, more ? items[^1].Id : null));
    }

    private static Results<Ok<ProfileSearchResult>, ProblemHttpResult> Search(IProfileStore db, IIdentityDirectory directory, ProfileReader reader,
        [FromQuery] string? identifier, [FromQuery] string? trait, [FromQuery] string? value, [FromQuery] int? limit)
    {
        var take = limit ?? DefaultPage;
        if (take is < 1 or > MaxPage) return BadRequest("limit", $"limit must be between 1 and {MaxPage}");
        if (identifier is not null)
        {
            if (!identifier.Contains(':')) return BadRequest("identifier", "identifier must be type:value, e.g. email:jane@example.com");
            var found = directory.FindProfile(identifier);
            var state = found is null ? null : reader.Load(found.Value);
            return TypedResults.Ok(new ProfileSearchResult(state is null ? [] : [Summary(reader.View(state))]));
        }
        if (string.IsNullOrWhiteSpace(trait) || value is null)
            return BadRequest("trait", "search needs identifier=type:value, or trait=<name>&value=<value>");
        if (!System.Text.RegularExpressions.Regex.IsMatch(trait, "^[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)*$"))
            return BadRequest("trait", "trait is a name or a dotted path of letters, digits and _");
        // a scan: traits have no index (indexes cost on every profile write); fine at small-team scale
        var docs = db.LiveWithTrait(trait, value).Take(take).ToList();
        return TypedResults.Ok(new ProfileSearchResult(docs.Select(d => Summary(reader.View(d))).ToList()));
    }

    private static Results<Ok<AccountView>, NotFound> Account(string groupId, IProfileStore db, Microsoft.Extensions.Options.IOptions<ProfilesOptions> options)
    {
        var account = db.Account(groupId, options.Value.Limits);
        if (account is null) return TypedResults.NotFound();
        var members = db.AccountMembers(groupId).Take(MaxPage).Select(ProfileIds.Format).ToList();
        return TypedResults.Ok(new AccountView(groupId, TreeJson.ToObject(account.Traits),
            ProfilePersonalData.SkippedJson(account.Skipped.Count > 0 ? SkippedValues.View(account.Skipped) : ProfileSkips.None), members));
    }
}
