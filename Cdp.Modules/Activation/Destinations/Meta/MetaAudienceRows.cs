using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Engine;
using Cdp.Modules.Profiles.Contracts;
using PhoneNumbers;

namespace Cdp.Modules.Activation.Destinations.Meta;

/// <summary>
/// What a sync sends to a Meta customer-list audience: one row per member, Meta's identifier keys (the destination's
/// Identifiers, each normalised and hashed, see <see cref="MetaNormalisation"/>) and, for a value-based audience, the member's
/// LOOKALIKE_VALUE (the sync's ValueTrait). The member's fields hold these wire values, never the raw ones, so that run history,
/// dry-run samples and the payload preview show hashes only; a changed identifier or value changes the member's hash (an update).
/// </summary>
internal sealed partial class MetaAudienceRows
{
    /// <summary>Meta: "You can add an unlimited number of records to an audience, but only up to 10000 at a time."</summary>
    public const int MaxRows = 10_000;

    /// <summary>The value column of a value-based audience (a non-negative number per row; not hashed).</summary>
    public const string ValueKey = "LOOKALIKE_VALUE";

    /// <summary>Meta's customer_file_source values (the Graph API spec's enum).</summary>
    public static readonly IReadOnlyList<string> FileSources = ["USER_PROVIDED_ONLY", "PARTNER_PROVIDED_ONLY", "BOTH_USER_AND_PARTNER_PROVIDED"];

    /// <summary>Identifiers when the destination names none: the Segment spec's traits, each sent where the profile has it.</summary>
    public static readonly IReadOnlyDictionary<string, string> DefaultIdentifiers = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["EMAIL"] = "traits.email", ["PHONE"] = "traits.phone", ["FN"] = "traits.firstName", ["LN"] = "traits.lastName", ["COUNTRY"] = "traits.address.country",
    };

    private static readonly JsonElement Null = JsonDocument.Parse("null").RootElement.Clone();
    private static readonly JsonElement Zero = JsonDocument.Parse("0").RootElement.Clone();

    private readonly (string Key, ProfileValueSource Source)[] _identifiers;
    private readonly ProfileValueSource? _value;
    private readonly string _region;

    public MetaAudienceRows(SyncSettings sync, DestinationSettings d)
    {
        var identifiers = d.Identifiers.Count > 0 ? d.Identifiers : DefaultIdentifiers;
        _identifiers = MetaNormalisation.Keys.Where(identifiers.ContainsKey).Select(k => (k, ProfileValueSource.Parse(identifiers[k]))).ToArray();
        Schema = _identifiers.Select(i => i.Key).ToArray();
        if (sync.ValueTrait.Length > 0) _value = ProfileValueSource.Parse(sync.ValueTrait);
        _region = d.DefaultPhoneRegion;
        KeyIdentifier = identifiers.FirstOrDefault(i => i.Value == "traits." + sync.Identifier).Key ?? "EMAIL";
    }

    /// <summary>The identifier keys of every row, in Meta's schema order.</summary>
    public IReadOnlyList<string> Schema { get; }

    /// <summary>The sync has a ValueTrait: rows carry LOOKALIKE_VALUE and a created audience is value-based.</summary>
    public bool ValueBased => _value is not null;

    /// <summary>The identifier key the member key (the sync's Identifier trait) is, e.g. EMAIL: what a removal names when the profile is gone.</summary>
    public string KeyIdentifier { get; }

    /// <summary>The member's fields: each identifier's wire value (null when absent or not normalisable), then the value.</summary>
    public KeyValuePair<string, JsonElement>[] Fields(ProfileView profile)
    {
        var fields = new KeyValuePair<string, JsonElement>[_identifiers.Length + (ValueBased ? 1 : 0)];
        for (var i = 0; i < _identifiers.Length; i++)
        {
            var (key, source) = _identifiers[i];
            var raw = source.Read(profile);
            var text = raw is { ValueKind: JsonValueKind.String or JsonValueKind.Number } v ? OutgoingMember.Text(v) : null;
            var wire = text is null ? null : MetaNormalisation.Wire(key, text, _region);
            fields[i] = new(key, wire is null ? Null : JsonSerializer.SerializeToElement(wire));
        }
        if (_value is { } value) fields[^1] = new(ValueKey, Value(profile, value));
        return fields;
    }

    /// <summary>
    /// A non-negative finite number (or a text holding one) is sent as it is; anything else (text, negative, missing) is sent as 0:
    /// a value-based audience needs a value on every row, so a bad value costs that row's value, never the row or the run.
    /// </summary>
    private static JsonElement Value(ProfileView profile, ProfileValueSource source)
    {
        var raw = source.Read(profile);
        double n;
        if (raw is { ValueKind: JsonValueKind.Number } num && num.TryGetDouble(out n)) { }
        else if (raw is { ValueKind: JsonValueKind.String } str && double.TryParse(str.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out n)) { }
        else return Zero;
        return double.IsFinite(n) && n >= 0 ? JsonSerializer.SerializeToElement(Math.Round(n, 4)) : Zero;
    }

    /// <summary>A removal row from the member key alone (the person left Cdp, or the profile changed its identifier since).</summary>
    public KeyValuePair<string, JsonElement>[] KeyOnly(string key) =>
        MetaNormalisation.Wire(KeyIdentifier, key, _region) is { } wire ? [new(KeyIdentifier, JsonSerializer.SerializeToElement(wire))] : [];

    /// <summary>
    /// The users / usersreplace body: {"payload":{"schema":[...],"data":[[...],...]}} (plus "session" for a replace). The schema is
    /// the identifier keys (and LOOKALIKE_VALUE when <paramref name="withValue"/>); a row without a key sends "" there, as Meta's
    /// multi-key examples do, and its value as a decimal text ("120.5").
    /// </summary>
    public string Body(IReadOnlyList<OutgoingMember> members, bool withValue, ReplaceBatch? session = null)
    {
        var schema = Schema.ToList();
        // A removal by key alone may name an identifier no longer configured: it joins the schema.
        foreach (var m in members)
            foreach (var f in m.Fields)
                if (f.Key != ValueKey && !schema.Contains(f.Key)) schema.Add(f.Key);
        if (withValue && ValueBased) schema.Add(ValueKey);
        return JsonBodies.Write(w =>
        {
            w.WriteStartObject();
            if (session is { } s)
            {
                w.WriteStartObject("session");
                w.WriteNumber("session_id", s.SessionId);
                w.WriteNumber("batch_seq", s.BatchSeq);
                w.WriteBoolean("last_batch_flag", s.Last);
                w.WriteNumber("estimated_num_total", s.EstimatedTotal);
                w.WriteEndObject();
            }
            w.WriteStartObject("payload");
            JsonBodies.Strings(w, "schema", schema);
            w.WriteStartArray("data");
            foreach (var m in members)
            {
                w.WriteStartArray();
                foreach (var key in schema)
                {
                    var value = m.Fields.FirstOrDefault(f => f.Key == key).Value;
                    // As a decimal text in the all-text row, as Meta's own example sends it ("0.9"), never an exponent.
                    if (key == ValueKey) w.WriteStringValue(value.ValueKind == JsonValueKind.Number ? value.GetDouble().ToString("0.####", CultureInfo.InvariantCulture) : "0");
                    else w.WriteStringValue(value.ValueKind == JsonValueKind.String ? value.GetString() : "");
                }
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    /// <summary>The Graph API version used when ApiVersion is empty.</summary>
    public const string DefaultApiVersion = "v21.0";

    public static string ApiVersion(DestinationSettings d) => d.ApiVersion.Length > 0 ? d.ApiVersion : DefaultApiVersion;

    [GeneratedRegex("^\\d+$")]
    private static partial Regex Digits();

    [GeneratedRegex("^v\\d+\\.\\d+$")]
    private static partial Regex Version();

    /// <summary>The destination's settings that are wrong, by key (Cdp:Destinations:&lt;name&gt;:&lt;key&gt;).</summary>
    public static IEnumerable<(string Key, string Message)> DestinationProblems(string name, DestinationSettings d)
    {
        if (string.IsNullOrWhiteSpace(d.AccessToken))
            yield return ("AccessToken", "is required: a system user's access token with ads_management (" + SettingNames.EnvironmentHint(name, "AccessToken") + ")");
        var account = d.AdAccountId.StartsWith("act_", StringComparison.Ordinal) ? d.AdAccountId[4..] : d.AdAccountId;
        if (d.AudienceId.Length == 0 && account.Length == 0)
            yield return ("AdAccountId", "is required when AudienceId is empty: the ad account the sync's audience is created in (Business Settings > Ad accounts, the number after act_)");
        else if (account.Length > 0 && !Digits().IsMatch(account)) yield return ("AdAccountId", $"'{d.AdAccountId}' must be the ad account's number (act_ in front is accepted)");
        if (d.AudienceId.Length > 0 && !Digits().IsMatch(d.AudienceId)) yield return ("AudienceId", $"'{d.AudienceId}' must be the custom audience's number, or empty to create one per sync");
        if (d.ApiVersion.Length > 0 && !Version().IsMatch(d.ApiVersion)) yield return ("ApiVersion", $"'{d.ApiVersion}' must be a Graph API version such as v21.0, or empty");
        if (!FileSources.Contains(d.CustomerFileSource ?? "")) yield return ("CustomerFileSource", $"'{d.CustomerFileSource}' must be one of {string.Join(", ", FileSources)}");
        foreach (var (key, source) in d.Identifiers)
        {
            if (!MetaNormalisation.IsKey(key)) yield return ($"Identifiers:{key}", $"'{key}' is not an identifier Meta accepts: use {string.Join(", ", MetaNormalisation.Keys)}");
            else if (!SettingNames.Source().IsMatch(source ?? "")) yield return ($"Identifiers:{key}", $"'{source}' must be traits.<name> or computed.<name>");
        }
        if (!PhoneNumberUtil.GetInstance().GetSupportedRegions().Contains(d.DefaultPhoneRegion ?? ""))
            yield return ("DefaultPhoneRegion", $"'{d.DefaultPhoneRegion}' must be a region code such as US or FR (ISO 3166, two capital letters)");
        if (d.BatchSize is < 0 or > MaxRows) yield return ("BatchSize", "must be 0 (10000) to 10000: Meta takes at most 10,000 rows per request");
    }

    /// <summary>A sync to a Meta audience that cannot work: its member key must be one of the identifiers (removals and erasures name it).</summary>
    public static (string Key, string Message)? SyncProblem(SyncSettings s, DestinationSettings d)
    {
        var identifiers = d.Identifiers.Count > 0 ? d.Identifiers : DefaultIdentifiers;
        if (s.FieldMappings.Count > 0)
            return ("FieldMappings", "are not sent to a Meta audience (a customer list holds identifiers only): remove them; what is sent is the destination's Identifiers");
        if (!identifiers.Values.Contains("traits." + s.Identifier))
            return ("Identifier", $"'{s.Identifier}' must be the trait of one of the destination's Identifiers ({string.Join(", ", identifiers.Select(i => $"{i.Key}: {i.Value}"))}): removals and erasures name the member by it");
        return null;
    }
}

/// <summary>One request of Meta's replace session (usersreplace): the same session id, batch_seq from 1, last_batch_flag on the last.</summary>
internal readonly record struct ReplaceBatch(long SessionId, int BatchSeq, bool Last, long EstimatedTotal);
