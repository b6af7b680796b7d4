using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Cdp.Modules.Profiles.Api;

// The Profile API's response bodies (camelCase on the wire, in this order). Traits and computed traits are the stored JSON.

/// <summary>A profile in a list or a search: id, first and last event time, event count, traits.</summary>
internal sealed record ProfileSummary(string Id, DateTime FirstSeen, DateTime LastSeen, long Events, JsonElement Traits);

/// <summary>GET /api/profiles: a page of live profiles by number.</summary>
internal sealed record ProfilePage(IReadOnlyList<ProfileSummary> Profiles, string? NextCursor);

/// <summary>GET /api/profiles/search: the profiles found (no paging).</summary>
internal sealed record ProfileSearchResult(IReadOnlyList<ProfileSummary> Profiles);

/// <summary>GET /api/profiles/{reference}: the whole profile; <c>requested</c> only when the reference was not its id.</summary>
internal sealed record ProfileDetail(
    string Id, DateTime FirstSeen, DateTime LastSeen, long Events, JsonElement Traits,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Requested,
    JsonElement ComputedTraits, JsonObject Consent, JsonObject Skipped, IReadOnlyList<ProfileIdentifier> Identifiers,
    IReadOnlyDictionary<string, long> EventTypes, IReadOnlyDictionary<string, long> TrackEvents, IReadOnlyDictionary<string, SourceSeen> Sources,
    IReadOnlyList<string> Groups, int Merges, IReadOnlyList<string> MergedProfiles, IReadOnlyList<string> Warnings);

/// <summary>One identifier of a profile.</summary>
internal sealed record ProfileIdentifier(string Type, string Value, DateTime FirstSeen, DateTime LastSeen, bool Quarantined);

/// <summary>When a profile was seen from one source, and how many events.</summary>
internal sealed record SourceSeen(DateTime FirstSeen, DateTime LastSeen, long Events);

/// <summary>GET /api/profiles/{reference}/traits.</summary>
internal sealed record ProfileTraits(string Id, JsonElement Traits, JsonElement ComputedTraits);

/// <summary>GET /api/profiles/{reference}/identifiers.</summary>
internal sealed record ProfileIdentifiers(string Id, IReadOnlyList<ProfileIdentifier> Identifiers);

/// <summary>GET /api/profiles/{reference}/merges: the merge records of the profile's history.</summary>
internal sealed record ProfileMerges(string Id, IReadOnlyList<ProfileMerge> Merges);

/// <summary>One merge: the winner kept its id, the loser was folded into it, by which rule and identifiers, on which event.</summary>
internal sealed record ProfileMerge(string Id, string Winner, string Loser, string Rule, string JoiningIdentifier, string MatchedIdentifier,
    long Sequence, string Source, string MessageId, DateTime At);

/// <summary>
/// GET /api/profiles/{reference}/timeline: events as the log holds them, plus <c>sequence</c>, <c>source</c> and
/// <c>receivedAt</c> (when Cdp received it; its <c>timestamp</c> is when it happened), newest first by event time.
/// </summary>
internal sealed record ProfileTimelinePage(string Id, IReadOnlyList<JsonObject> Events, string? NextCursor);

/// <summary>GET /api/profiles/accounts/{groupId}: an account's traits, skipped values and members (at most 500).</summary>
internal sealed record AccountView(string GroupId, JsonObject Traits, JsonObject Skipped, IReadOnlyList<string> Members);
