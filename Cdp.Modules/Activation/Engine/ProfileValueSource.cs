using System.Text.Json;
using Cdp.Modules.Profiles.Contracts;

namespace Cdp.Modules.Activation.Engine;

/// <summary>
/// Where a sync reads one value of a profile: "traits.&lt;path&gt;" or "computed.&lt;name&gt;", the syntax of FieldMappings,
/// ValueTrait and Meta's Identifiers (checked at start by the validator: SettingNames.Source).
/// </summary>
internal readonly record struct ProfileValueSource(bool Computed, string[] Path)
{
    public static ProfileValueSource Parse(string source)
    {
        var dot = source.IndexOf('.');
        return new(source[..dot] == "computed", source[(dot + 1)..].Split('.'));
    }

    /// <summary>The value, or null when the profile has none there (or it is JSON null).</summary>
    public JsonElement? Read(ProfileView profile) => MemberProjection.Find(Computed ? profile.ComputedTraits : profile.Traits, Path);
}
