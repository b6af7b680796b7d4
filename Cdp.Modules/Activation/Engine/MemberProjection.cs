using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Profiles.Contracts;

namespace Cdp.Modules.Activation.Engine;

/// <summary>A contact as a destination gets it: the identifier and the mapped fields (destination field -> value).</summary>
internal sealed record OutgoingMember(string ProfileId, string Key, IReadOnlyList<KeyValuePair<string, JsonElement>> Fields, long Hash)
{
    public static OutgoingMember Removal(string profileId, string key) => new(profileId, key, [], 0);

    /// <summary>A field as text (CSV, samples): strings as they are, numbers and booleans as JSON writes them, null as null.</summary>
    public static string? Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => value.GetRawText(),
    };
}

internal enum Eligibility { Eligible, NoConsent, NoIdentifier }

/// <summary>
/// Turns a profile into what a sync sends. Consent: the profile's consent for Cdp:Syncs:&lt;name&gt;:ConsentPurpose must be granted,
/// and its SuppressedTrait must not be true-ish. With <paramref name="scalarFields"/> (email platforms, CSV: their fields hold
/// text, numbers and booleans) a mapped trait holding an object or an array is sent as null: a wrong type costs that field,
/// never the member's row or its batch at the vendor. <paramref name="consentPurpose"/>: the purpose the sync filters on (its
/// destination's default when the sync names none, see <see cref="SyncSettings.EffectiveConsentPurpose"/>). <paramref name="rows"/>:
/// a destination that sends its own fields instead of FieldMappings (ad audiences: Meta's identifier keys and value).
/// </summary>
/// <param name="requiredPurposes">Consent purposes the member must also have granted (an ad audience's consent mapping).</param>
internal sealed class MemberProjection(SyncSettings sync, bool scalarFields = false, string? consentPurpose = null,
    Func<ProfileView, KeyValuePair<string, JsonElement>[]>? rows = null, IReadOnlyList<string>? requiredPurposes = null)
{
    private readonly string _purpose = consentPurpose ?? sync.EffectiveConsentPurpose(null);

    private static readonly JsonElement Null = JsonDocument.Parse("null").RootElement.Clone();

    /// <summary>The field a sync's ValueTrait is sent under (ad audiences' value-based seeds); no vendor field has this name.</summary>
    public const string ValueField = "$value";

    private readonly (string Field, ProfileValueSource Source)[] _mappings = sync.FieldMappings
        .Concat(sync.ValueTrait.Length > 0 ? [new KeyValuePair<string, string>(ValueField, sync.ValueTrait)] : [])
        .OrderBy(m => m.Key, StringComparer.Ordinal)
        .Select(m => (m.Key, ProfileValueSource.Parse(m.Value))).ToArray();

    public Eligibility Check(ProfileView profile, out string key)
    {
        key = "";
        if (_purpose.Length > 0 && !profile.ConsentGranted(_purpose)) return Eligibility.NoConsent;
        foreach (var purpose in requiredPurposes ?? [])
            if (!profile.ConsentGranted(purpose)) return Eligibility.NoConsent;
        if (sync.SuppressedTrait.Length > 0 && IsTrue(Find(profile.Traits, [sync.SuppressedTrait]))) return Eligibility.NoConsent;
        var id = Find(profile.Traits, sync.Identifier.Split('.'));
        var text = id is { ValueKind: JsonValueKind.String } ? id.Value.GetString()!.Trim()
            : id is { ValueKind: JsonValueKind.Number } ? id.Value.GetRawText() : "";
        if (text.Length == 0) return Eligibility.NoIdentifier;
        if (sync.Identifier == "email")
        {
            if (!text.Contains('@')) return Eligibility.NoIdentifier;
            text = text.ToLowerInvariant(); // vendors key contacts by the lowercased address
        }
        key = text;
        return Eligibility.Eligible;
    }

    public OutgoingMember Project(ProfileView profile, string key)
    {
        if (rows is not null)
        {
            var own = rows(profile);
            return new OutgoingMember(profile.Id, key, own, Hash(key, own));
        }
        var fields = new KeyValuePair<string, JsonElement>[_mappings.Length];
        for (var i = 0; i < _mappings.Length; i++)
        {
            var (field, source) = _mappings[i];
            var value = source.Read(profile);
            fields[i] = new(field, value is { ValueKind: JsonValueKind.Object or JsonValueKind.Array } && scalarFields ? Null : value ?? Null);
        }
        return new OutgoingMember(profile.Id, key, fields, Hash(key, fields));
    }

    /// <summary>Changes when the identifier or any mapped value changes: the sync then sends an update.</summary>
    public static long Hash(string key, IReadOnlyList<KeyValuePair<string, JsonElement>> fields)
    {
        var hash = new XxHash64();
        hash.Append(Encoding.UTF8.GetBytes(key));
        foreach (var (name, value) in fields)
        {
            hash.Append([0]);
            hash.Append(Encoding.UTF8.GetBytes(name));
            hash.Append([1]);
            hash.Append(Encoding.UTF8.GetBytes(value.ValueKind == JsonValueKind.Undefined ? "null" : value.GetRawText()));
        }
        return unchecked((long)hash.GetCurrentHashAsUInt64());
    }

    internal static JsonElement? Find(JsonElement root, string[] path)
    {
        var e = root;
        foreach (var p in path)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(p, out e)) return null;
        }
        return e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined ? null : e;
    }

    private static bool IsTrue(JsonElement? value) => value switch
    {
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.Number } v => v.TryGetDouble(out var d) && d != 0,
        { ValueKind: JsonValueKind.String } v => v.GetString()!.Trim().ToLowerInvariant() is "true" or "yes" or "y" or "1" or "granted" or "opted_in" or "opt-in" or "subscribed",
        _ => false,
    };
}
