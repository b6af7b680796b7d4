using System.Text.Json;
using Cdp.Modules.Identity.Contracts;

namespace Cdp.Modules.Profiles.Contracts;

/// <summary>One profile touched by a batch, with the events it received (for an unmerge: all its events, recomputed).</summary>
public sealed record ProfileChange(string ProfileId, ProfileChangeKind Kind, IReadOnlyList<ProfileEvent> Events, string? MergedInto)
{
    /// <summary>
    /// Created/Updated: the profile as this batch leaves it, built on demand from the processor's memory (what
    /// <see cref="IProfileReader.Get"/> returns inside the batch, without reading back the document just written).
    /// Null when the change was not made by the processor (then read it through <see cref="IProfileReader"/>).
    /// </summary>
    public Func<ProfileView?>? After { get; init; }
}

public enum ProfileChangeKind { Created, Updated, MergedAway, Removed }

/// <summary>
/// One event of a profile. <paramref name="Payload"/> is the normalised Segment payload (UTF-8 JSON, the log's bytes,
/// not copied) so a participant can read properties without a second log read; empty when not available.
/// </summary>
public sealed record ProfileEvent(long Sequence, string Type, string? Name, DateTime Timestamp, string Source, ReadOnlyMemory<byte> Payload = default);

/// <summary>Reads profiles (committed state; on the processor thread inside a batch also the batch's own writes).</summary>
public interface IProfileReader
{
    /// <summary>A live profile by id ("p_123"); null when unknown or merged away.</summary>
    ProfileView? Get(string profileId);

    /// <summary>
    /// The live profiles among <paramref name="profileIds"/>, by id (unknown and merged-away ones are left out): one read
    /// for many, where a provider pays a round trip per read (a sync's batch of members).
    /// </summary>
    IReadOnlyDictionary<string, ProfileView> GetMany(IReadOnlyCollection<string> profileIds);

    /// <summary>
    /// Up to <paramref name="max"/> live profiles with a number greater than <paramref name="afterProfile"/>, ascending by
    /// number (a full scan in pages, e.g. for a segment sweep). Materialised: no cursor stays open.
    /// </summary>
    IReadOnlyList<ProfileView> ListAfter(long afterProfile, int max);

    /// <summary>Every event of a live profile, ascending by sequence, with payloads (timeline + event log); empty when unknown.</summary>
    IReadOnlyList<ProfileEvent> Events(string profileId);

    /// <summary>The log sequences of a live profile's events, ascending (no log read); empty when unknown.</summary>
    IReadOnlyList<long> EventSequences(string profileId);
}

public sealed record ProfileView(
    string Id, JsonElement Traits, JsonElement ComputedTraits, DateTime FirstSeen, DateTime LastSeen, long EventCount,
    IReadOnlyDictionary<string, long> EventTypeCounts, IReadOnlyDictionary<string, long> TrackEventCounts,
    IReadOnlyDictionary<string, SourcePresence> Sources, IReadOnlyList<string> Groups)
{
    /// <summary>Consent by purpose (lower-case, e.g. "marketing"): the latest statement wins.</summary>
    public IReadOnlyDictionary<string, ConsentState> Consent { get; init; } = new Dictionary<string, ConsentState>();

    public bool ConsentGranted(string purpose) => Consent.TryGetValue(purpose.ToLowerInvariant(), out var c) && c.Granted;

    /// <summary>Values of its events the profile did not take (wrong type, over a limit): counts per field and the last reasons.</summary>
    public ProfileSkips Skipped { get; init; } = ProfileSkips.None;
}

/// <summary>
/// Values a profile did not take, per field (<c>traits</c>, <c>computed.&lt;name&gt;</c>, <c>consent</c>, <c>groups</c>,
/// <c>event_names</c>), with the last few reasons (oldest first).
/// </summary>
public sealed record ProfileSkips(IReadOnlyDictionary<string, long> Counts, IReadOnlyList<SkippedValue> Recent)
{
    public static readonly ProfileSkips None = new(new Dictionary<string, long>(), []);
}

/// <summary>One value not taken: the event's log sequence, the field, why.</summary>
public sealed record SkippedValue(long Sequence, string Field, string Reason);

/// <param name="Source">Where it was read: "context.consent" or "trait:&lt;name&gt;".</param>
public sealed record ConsentState(bool Granted, DateTime At, string Source)
{
    /// <summary>The Cdp source (Cdp:Sources name) whose event made the statement, e.g. a SendGrid webhook source; null for statements recorded before it was kept.</summary>
    public string? Via { get; init; }
}

public sealed record SourcePresence(DateTime FirstSeen, DateTime LastSeen, long Events);
