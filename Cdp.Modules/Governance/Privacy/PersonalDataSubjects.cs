using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;

namespace Cdp.Modules.Governance.Privacy;

/// <summary>
/// Finds a person (a profile id, or an identifier normalised as Identity does) and gathers what every module needs to know of
/// them: the events attributed to them AND every other event of the log that carries one of their identifiers anywhere,
/// in any spelling (<see cref="IIdentifierReader.IdentifiersAnywhere"/>: properties.email on a visitor's event, another
/// person's event naming them), so that export and erasure reach every copy in the log.
/// </summary>
[Service]
internal sealed class PersonalDataSubjects(IIdentityDirectory directory, IIdentifierReader identifiers, IProfileReader profiles, IEventLog log)
{
    /// <summary>Events read per step when searching the log.</summary>
    private const int LogPage = 5_000;

    /// <summary>The live profile of "p_123" (a merged-away id gives the profile it went into), or null.</summary>
    public long? ByProfileId(string profileId) =>
        ProfileIds.TryParse(profileId, out var no) ? directory.LiveProfile(no) : null;

    /// <summary>The live profile owning the identifier, or null.</summary>
    public long? ByIdentifier(string key) => directory.FindProfile(key);

    /// <summary>"type:value" normalised, or null when the type is unknown or the value does not normalise.</summary>
    public string? Normalise(string type, string value) => identifiers.Normalise(type, value);

    public IReadOnlyList<string> Types => identifiers.Types;

    /// <summary>
    /// The subject as committed now, its event sequences including every event of the log up to now that carries one of its
    /// identifiers (one pass over the log); null when the profile is not live (any more).
    /// </summary>
    public PersonalDataSubject? Build(long profile)
    {
        var identity = directory.Get(profile);
        var id = ProfileIds.Format(profile);
        if (identity is null || profiles.Get(id) is null) return null;
        var numbers = identity.Absorbed.Prepend(profile).Distinct().ToList();
        var keys = identity.Identifiers.Select(i => i.Type + ":" + i.Value).ToList();
        var events = profiles.EventSequences(id).Concat(EventsCarrying(Spellings(keys), after: 0)).Distinct().Order().ToList();
        return new PersonalDataSubject(profile, id, numbers, keys, events);
    }

    /// <summary>
    /// The identifiers as stored plus each one normalised again by today's rules (an address stored before
    /// googlemail.com became gmail.com is suppressed and searched in both forms).
    /// </summary>
    public IReadOnlyList<string> Spellings(IEnumerable<string> keys)
    {
        var all = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            all.Add(key);
            var colon = key.IndexOf(':');
            if (colon > 0 && identifiers.Normalise(key[..colon], key[(colon + 1)..]) is { } again) all.Add(again);
        }
        return all.ToList();
    }

    /// <summary>Sequences of the events after <paramref name="after"/> carrying any of <paramref name="keys"/> anywhere, in any spelling.</summary>
    public List<long> EventsCarrying(IReadOnlyCollection<string> keys, long after)
    {
        var found = new List<long>();
        if (keys.Count == 0) return found;
        var wanted = keys.ToHashSet(StringComparer.Ordinal);
        var types = keys.Select(k => k[..k.IndexOf(':')]).ToHashSet(StringComparer.Ordinal);
        Func<string, bool> isType = types.Contains, isWanted = wanted.Contains;
        while (true)
        {
            var page = log.ReadAfter(after, LogPage);
            if (page.Count == 0) return found;
            foreach (var e in page)
            {
                try
                {
                    var reader = new Utf8JsonReader(e.Json.Span);
                    using var doc = JsonDocument.ParseValue(ref reader);
                    if (identifiers.AnyIdentifierAnywhere(doc.RootElement, isType, isWanted)) found.Add(e.Sequence);
                }
                catch (JsonException)
                {
                    // every logged event is JSON; a damaged one holds nothing readable
                }
            }
            after = page[^1].Sequence;
        }
    }
}
