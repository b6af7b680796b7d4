using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;

namespace Cdp.Modules.Governance.Privacy;

/// <summary>Finds a person (a profile id, or an identifier normalised as Identity does) and gathers what every module needs to know of them.</summary>
[Service]
internal sealed class PersonalDataSubjects(IIdentityDirectory directory, IIdentifierReader identifiers, IProfileReader profiles)
{
    /// <summary>The live profile of "p_123" (a merged-away id gives the profile it went into), or null.</summary>
    public long? ByProfileId(string profileId) =>
        ProfileIds.TryParse(profileId, out var no) ? directory.LiveProfile(no) : null;

    /// <summary>The live profile owning the identifier, or null.</summary>
    public long? ByIdentifier(string key) => directory.FindProfile(key);

    /// <summary>"type:value" normalised, or null when the type is unknown or the value does not normalise.</summary>
    public string? Normalise(string type, string value) => identifiers.Normalise(type, value);

    public IReadOnlyList<string> Types => identifiers.Types;

    /// <summary>The subject as committed now; null when the profile is not live (any more).</summary>
    public PersonalDataSubject? Build(long profile)
    {
        var identity = directory.Get(profile);
        var id = ProfileIds.Format(profile);
        if (identity is null || profiles.Get(id) is null) return null;
        var numbers = identity.Absorbed.Prepend(profile).Distinct().ToList();
        var keys = identity.Identifiers.Select(i => i.Type + ":" + i.Value).ToList();
        return new PersonalDataSubject(profile, id, numbers, keys, profiles.EventSequences(id));
    }
}
