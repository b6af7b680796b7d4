using System.Text.Json;
using System.Text.RegularExpressions;
using PhoneNumbers;

namespace Cdp.Modules.Identity.Identifiers;

/// <summary>One identifier type, compiled from settings. <see cref="Rank"/> orders types: 0 is the strongest.</summary>
internal sealed record IdentifierType(
    string Name, int Priority, int Rank, int Limit, IdentifierWindow Window, IdentifierNormaliser Normaliser,
    IReadOnlyList<string> Traits, IReadOnlyList<string> ExternalIdTypes, Regex? Blocked)
{
    public TimeSpan? WindowLength => Window switch
    {
        IdentifierWindow.Weekly => TimeSpan.FromDays(7),
        IdentifierWindow.Monthly => TimeSpan.FromDays(30),
        IdentifierWindow.Annually => TimeSpan.FromDays(365),
        _ => null,
    };
}

/// <summary>An identifier found on an event, normalised: <see cref="Key"/> is "type:value".</summary>
internal readonly record struct EventIdentifier(IdentifierType Type, string Value)
{
    public string Key => Type.Name + ":" + Value;
}

/// <summary>
/// The identifier types of <c>Cdp:Identity</c>, compiled: how to find, normalise and block each one.
/// An identifier that fails normalisation or is blocked stays on the event but never becomes an identity.
/// </summary>
internal sealed class IdentifierCatalogue
{
    public static readonly HashSet<string> BuiltInTypes = new(StringComparer.Ordinal)
        { "user_id", "email", "phone", "anonymous_id", "device_id" };

    /// <summary>Placeholders SDKs and forms send when they have no real value. Matched case-insensitively on the normalised value.</summary>
    public static readonly string[] DefaultBlockedValues =
    [
        @"^\s*$",                                                  // empty
        @"^[0\-\s]+$",                                             // 0, 000000, the zero GUID
        @"^(null|nil|none|undefined|nan|unknown|anonymous|anon|guest|n/?a|test|user|-+)$",
        @"^(test|example|foo|none|null|noreply|no-reply|donotreply|do-not-reply|anonymous|unknown)@",
        @"@(test\.(com|org|net)|mailinator\.com|localhost|invalid)$", // example.com is left alone: documentation and tests use it
        @"^\+?1?(1234567890|0123456789|5555555555)$",              // keyboard-run phone placeholders
        @"^\+?(0{7,}|1{7,}|2{7,}|3{7,}|4{7,}|5{7,}|6{7,}|7{7,}|8{7,}|9{7,})$", // 1111111, +9999999999
    ];

    private static readonly Dictionary<string, IdentifierTypeOptions> DefaultTypes = new(StringComparer.Ordinal)
    {
        ["user_id"] = new() { Priority = 1, Limit = 1 },
        ["email"] = new() { Priority = 2, Limit = 5, Normaliser = IdentifierNormaliser.Email, Traits = ["email"] },
        ["phone"] = new() { Priority = 3, Limit = 5, Normaliser = IdentifierNormaliser.Phone, Traits = ["phone"] },
        ["device_id"] = new() { Priority = 4, Limit = 20, Window = IdentifierWindow.Monthly },
        ["anonymous_id"] = new() { Priority = 5, Limit = 0 },
    };

    private readonly PhoneNumberUtil _phones = PhoneNumberUtil.GetInstance();
    private readonly string _defaultRegion;
    private readonly HashSet<string> _dotAndTagDomains;
    private readonly Dictionary<string, string> _domainAliases;
    private readonly Regex? _blocked;
    private readonly Dictionary<string, IdentifierType> _byName;
    private readonly List<(string Trait, IdentifierType Type)> _traitTypes = [];
    /// <summary>Trait names and externalIds types by their loose form (lower case, without _ - and spaces): Email, email_address... see <see cref="Loose"/>.</summary>
    private readonly Dictionary<string, IdentifierType> _looseTraits = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IdentifierType> _looseExternalTypes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IdentifierType> _externalTypes = new(StringComparer.OrdinalIgnoreCase);

    public IdentifierCatalogue(IdentityOptions options)
    {
        Options = options;
        _defaultRegion = options.DefaultPhoneRegion;
        _dotAndTagDomains = new HashSet<string>(options.EmailDotAndTagDomains ?? ["gmail.com", "googlemail.com"], StringComparer.OrdinalIgnoreCase);
        _domainAliases = new Dictionary<string, string>(
            (options.EmailDomainAliases ?? new Dictionary<string, string> { ["googlemail.com"] = "gmail.com" })
                .Select(a => KeyValuePair.Create(a.Key.Trim().TrimEnd('.'), a.Value.Trim().TrimEnd('.').ToLowerInvariant())),
            StringComparer.OrdinalIgnoreCase);
        _blocked = Combine((options.UseDefaultBlockedValues ? DefaultBlockedValues : []).Concat(options.BlockedValues ?? []));
        var types = options.Types.Count > 0 ? options.Types : DefaultTypes;
        var ordered = types.OrderBy(t => t.Value.Priority).ThenBy(t => t.Key, StringComparer.Ordinal).ToList();
        Types = ordered.Select((t, rank) => new IdentifierType(t.Key, t.Value.Priority, rank, t.Value.Limit, t.Value.Window, t.Value.Normaliser,
            t.Value.Traits ?? [], t.Value.ExternalIdTypes ?? [], Combine(t.Value.BlockedValues ?? []))).ToList();
        _byName = Types.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var t in Types)
        {
            foreach (var trait in t.Traits) _traitTypes.Add((trait, t));
            foreach (var ext in t.ExternalIdTypes) _externalTypes.TryAdd(ext, t);
        }
        foreach (var t in Types)
        {
            foreach (var trait in t.Traits.Append(t.Name)) _looseTraits.TryAdd(Loose(trait), t);
            foreach (var ext in t.ExternalIdTypes.Append(t.Name)) _looseExternalTypes.TryAdd(Loose(ext), t);
        }
        EmailTypes = Types.Where(t => t.Normaliser == IdentifierNormaliser.Email).ToList();
        PhoneTypes = Types.Where(t => t.Normaliser == IdentifierNormaliser.Phone).ToList();
        UserId = _byName.GetValueOrDefault("user_id");
        AnonymousId = _byName.GetValueOrDefault("anonymous_id");
        DeviceId = _byName.GetValueOrDefault("device_id");
    }

    public IdentityOptions Options { get; }

    /// <summary>Strongest first.</summary>
    public IReadOnlyList<IdentifierType> Types { get; }

    public IdentifierType? UserId { get; }
    public IdentifierType? AnonymousId { get; }
    public IdentifierType? DeviceId { get; }

    public IdentifierType? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Types whose values are email addresses (normaliser Email): what an email-shaped value anywhere is read as.</summary>
    public IReadOnlyList<IdentifierType> EmailTypes { get; }

    /// <summary>Types whose values are phone numbers (normaliser Phone).</summary>
    public IReadOnlyList<IdentifierType> PhoneTypes { get; }

    /// <summary>The type of a trait named <paramref name="name"/> in any case and spelling of separators (Email, E_mail, PHONE), or null.</summary>
    public IdentifierType? TraitTypeLoosely(string name) => _looseTraits.GetValueOrDefault(Loose(name));

    /// <summary>The type of a context.externalIds[].type in any case: a configured ExternalIdTypes value or a type name ("email", "Phone").</summary>
    public IdentifierType? ExternalTypeLoosely(string name) =>
        _externalTypes.GetValueOrDefault(name) ?? _looseExternalTypes.GetValueOrDefault(Loose(name));

    /// <summary>Lower case without '_', '-', '.' and spaces: "E-mail", "e_mail" and "EMAIL" are one name.</summary>
    public static string Loose(string name)
    {
        Span<char> buffer = name.Length <= 128 ? stackalloc char[name.Length] : new char[name.Length];
        var n = 0;
        foreach (var c in name)
            if (c is not ('_' or '-' or '.' or ' ')) buffer[n++] = char.ToLowerInvariant(c);
        return new string(buffer[..n]);
    }

    /// <summary>All patterns as one alternation: one linear scan per value instead of one per pattern.</summary>
    private static Regex? Combine(IEnumerable<string> patterns)
    {
        var list = patterns.ToList();
        return list.Count == 0 ? null : Compile(string.Join("|", list.Select(p => "(?:" + p + ")")));
    }

    /// <summary>Non-backtracking: linear time, so no timeouts, so a replay always blocks the same values.</summary>
    public static Regex Compile(string pattern) =>
        new(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);

    /// <summary>Normalises and checks a raw value; null when it fails normalisation or is blocked.</summary>
    public string? Normalise(IdentifierType type, string? raw)
    {
        if (raw is null) return null;
        var value = type.Normaliser switch
        {
            IdentifierNormaliser.Email => NormaliseEmail(raw),
            IdentifierNormaliser.Phone => NormalisePhone(raw),
            IdentifierNormaliser.LowerCase => NullIfEmpty(raw.Trim().ToLowerInvariant()),
            _ => NullIfEmpty(raw.Trim()),
        };
        if (value is null || value.Length > 256) return null; // longer values are payloads, not identities
        if (_blocked?.IsMatch(value) == true || type.Blocked?.IsMatch(value) == true) return null;
        return value;
    }

    /// <summary>Parses "type:value" (value raw), e.g. "email:Jane@Example.com"; null for an unknown type or a value that does not normalise.</summary>
    public EventIdentifier? Parse(string typeAndValue)
    {
        var i = typeAndValue.IndexOf(':');
        if (i <= 0) return null;
        var type = Find(typeAndValue[..i]);
        if (type is null) return null;
        var value = Normalise(type, typeAndValue[(i + 1)..]);
        return value is null ? null : new EventIdentifier(type, value);
    }

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    public string? NormaliseEmail(string raw)
    {
        var s = raw.Trim().ToLowerInvariant();
        var at = s.LastIndexOf('@');
        if (at <= 0 || at == s.Length - 1 || s.IndexOf('@') != at || s.Any(char.IsWhiteSpace)) return null;
        var local = s[..at];
        var domain = s[(at + 1)..].TrimEnd('.');
        if (!domain.Contains('.') || domain.StartsWith('.') || domain.Contains("..")) return null;
        if (_domainAliases.TryGetValue(domain, out var canonical)) domain = canonical; // googlemail.com -> gmail.com
        if (_dotAndTagDomains.Contains(domain))
        {
            var plus = local.IndexOf('+');
            if (plus >= 0) local = local[..plus];
            local = local.Replace(".", "");
            if (local.Length == 0) return null;
        }
        return local + "@" + domain;
    }

    /// <summary>
    /// Raw phone text -> its E.164 form (or null), for catalogues used on many threads (e.g. the ingest suppression check):
    /// libphonenumber costs ~10 µs a number and the same numbers come back. Null: no cache. Cleared when full.
    /// </summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, string?>? PhoneCache { get; init; }

    /// <summary>Entries of <see cref="PhoneCache"/> before it is cleared (~100 bytes each).</summary>
    public const int PhoneCacheCapacity = 100_000;

    /// <summary>E.164 (+4915123456789), or null when libphonenumber finds no valid number.</summary>
    public string? NormalisePhone(string raw)
    {
        if (PhoneCache is null) return ParsePhone(raw);
        if (PhoneCache.TryGetValue(raw, out var cached)) return cached;
        var parsed = ParsePhone(raw);
        if (PhoneCache.Count >= PhoneCacheCapacity) PhoneCache.Clear();
        PhoneCache.TryAdd(raw, parsed);
        return parsed;
    }

    private string? ParsePhone(string raw)
    {
        var s = raw.Trim();
        if (s.Length is 0 or > 40) return null;
        if (s.StartsWith("00", StringComparison.Ordinal)) s = "+" + s[2..]; // international prefix used in most of the world
        try
        {
            var number = _phones.Parse(s, _defaultRegion);
            return _phones.IsValidNumber(number) ? _phones.Format(number, PhoneNumberFormat.E164) : null;
        }
        catch (NumberParseException)
        {
            return null;
        }
    }

    /// <summary>
    /// The identifiers of one event, strongest first, without duplicates: userId, anonymousId, alias previousId,
    /// context.device.id, context.externalIds[], and the mapped traits of traits and context.traits.
    /// </summary>
    /// <param name="include">Only these type names (null: all): the others are not even normalised.</param>
    public List<EventIdentifier> Extract(JsonElement e, Func<string, bool>? isKnownUserId = null, Func<string, bool>? include = null)
    {
        var found = new List<EventIdentifier>(4);
        if (UserId is { } uid) Add(found, uid, Str(e, "userId"), include);
        if (AnonymousId is { } aid) Add(found, aid, Str(e, "anonymousId"), include);
        if (Str(e, "previousId") is { } previous)
        {
            // alias: previousId is a user id when one is known as such, else an anonymous id (Segment's usage)
            if (UserId is { } u && Normalise(u, previous) is { } pv && isKnownUserId?.Invoke(u.Name + ":" + pv) == true) Add(found, u, previous, include);
            else if (AnonymousId is { } a) Add(found, a, previous, include);
        }
        if (e.TryGetProperty("context", out var ctx) && ctx.ValueKind == JsonValueKind.Object)
        {
            if (DeviceId is { } did && ctx.TryGetProperty("device", out var dev) && dev.ValueKind == JsonValueKind.Object)
                Add(found, did, Str(dev, "id"), include);
            if (_externalTypes.Count > 0 && ctx.TryGetProperty("externalIds", out var ext) && ext.ValueKind == JsonValueKind.Array)
                foreach (var x in ext.EnumerateArray())
                    if (x.ValueKind == JsonValueKind.Object && Str(x, "type") is { } t && _externalTypes.TryGetValue(t, out var type))
                        Add(found, type, Str(x, "id"), include);
            if (_traitTypes.Count > 0 && ctx.TryGetProperty("traits", out var ct) && ct.ValueKind == JsonValueKind.Object)
                AddTraits(found, ct, include);
        }
        if (_traitTypes.Count > 0 && e.TryGetProperty("traits", out var traits) && traits.ValueKind == JsonValueKind.Object)
            AddTraits(found, traits, include);
        found.Sort((a, b) => a.Type.Rank != b.Type.Rank ? a.Type.Rank.CompareTo(b.Type.Rank) : string.CompareOrdinal(a.Value, b.Value));
        return found;
    }

    private void AddTraits(List<EventIdentifier> found, JsonElement traits, Func<string, bool>? include)
    {
        foreach (var (trait, type) in _traitTypes)
            if (traits.TryGetProperty(trait, out var v)) Add(found, type, v.ValueKind == JsonValueKind.Number ? v.GetRawText() : v.ValueKind == JsonValueKind.String ? v.GetString() : null, include);
    }

    private void Add(List<EventIdentifier> found, IdentifierType type, string? raw, Func<string, bool>? include)
    {
        if (include is not null && !include(type.Name)) return;
        var value = Normalise(type, raw);
        if (value is null) return;
        foreach (var f in found) if (ReferenceEquals(f.Type, type) && f.Value == value) return;
        found.Add(new EventIdentifier(type, value));
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        } : null;
}
