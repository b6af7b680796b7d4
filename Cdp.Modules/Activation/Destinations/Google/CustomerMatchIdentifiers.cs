using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Activation.Engine;
using PhoneNumbers;

namespace Cdp.Modules.Activation.Destinations.Google;

/// <summary>One member as Customer Match gets it: SHA-256 hex of the normalised identifiers, country and postal code in clear.</summary>
internal sealed record CustomerMatchUser(string? HashedEmail, string? HashedPhone, CustomerMatchAddress? Address, long? LifetimeValueMicros)
{
    public int IdentifierCount => (HashedEmail is null ? 0 : 1) + (HashedPhone is null ? 0 : 1) + (Address is null ? 0 : 1);
}

/// <summary>Google's addressInfo: both names hashed; countryCode (ISO 3166-1 alpha-2) and postalCode are sent unhashed, as Google requires.</summary>
internal sealed record CustomerMatchAddress(string HashedFirstName, string HashedLastName, string CountryCode, string PostalCode);

/// <summary>
/// Google's normalisation before hashing (Customer Match guide and the UserIdentifier/OfflineUserAddressInfo field docs):
/// email trimmed, inner whitespace removed, lower-cased, and for gmail.com / googlemail.com the dots of the local part removed
/// (Google accepts them either way; removing them is its documented canonical form); phone in E.164 with its leading +;
/// first and last name lower-cased, trimmed, inner runs of spaces collapsed to one; then SHA-256 as lowercase hex.
/// Country code (upper-case, 2 letters) and postal code (trimmed) are not hashed.
/// </summary>
internal static class CustomerMatchIdentifiers
{
    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    public static string Sha256(string normalised) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalised)));

    public static string? NormaliseEmail(string? raw)
    {
        if (raw is null) return null;
        var s = string.Concat(raw.Where(c => !char.IsWhiteSpace(c))).ToLowerInvariant();
        var at = s.LastIndexOf('@');
        if (at <= 0 || at == s.Length - 1) return null;
        var domain = s[(at + 1)..];
        if (domain is "gmail.com" or "googlemail.com") s = s[..at].Replace(".", "", StringComparison.Ordinal) + s[at..];
        return s;
    }

    /// <summary>E.164 ("+4915112345678"); a number without an international prefix is read in <paramref name="region"/> (the member's country code).</summary>
    public static string? NormalisePhone(string? raw, string? region)
    {
        if (string.IsNullOrWhiteSpace(raw)) return null;
        try
        {
            var number = Phones.Parse(raw.Trim(), string.IsNullOrEmpty(region) ? null : region.ToUpperInvariant());
            return Phones.IsValidNumber(number) ? Phones.Format(number, PhoneNumberFormat.E164) : null;
        }
        catch (NumberParseException)
        {
            return null;
        }
    }

    public static string? NormaliseName(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw)) return null;
        return string.Join(' ', raw.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToLowerInvariant();
    }

    public static string? NormaliseCountry(string? raw) =>
        raw?.Trim() is { Length: 2 } c && c.All(char.IsAsciiLetter) ? c.ToUpperInvariant() : null;

    public static string? NormalisePostalCode(string? raw) => string.IsNullOrWhiteSpace(raw) ? null : raw.Trim();

    /// <summary>
    /// The member's identifiers: the key as email (Identifier "email") or as phone (any other Identifier), and the mapped
    /// phone, firstName, lastName, countryCode, postalCode; addressInfo only when all four of its parts are there (Google
    /// requires them together). A value that does not normalise (a phone that is no valid number) is left out, not sent raw.
    /// </summary>
    public static CustomerMatchUser Of(OutgoingMember m, bool keyIsEmail)
    {
        string? Field(string name)
        {
            foreach (var (field, value) in m.Fields)
                if (field == name) return OutgoingMember.Text(value);
            return null;
        }
        var country = NormaliseCountry(Field("countryCode"));
        var email = keyIsEmail ? NormaliseEmail(m.Key) : null;
        var phone = NormalisePhone(keyIsEmail ? Field("phone") : m.Key, country);
        CustomerMatchAddress? address = null;
        if (NormaliseName(Field("firstName")) is { } first && NormaliseName(Field("lastName")) is { } last && country is not null
            && NormalisePostalCode(Field("postalCode")) is { } postal)
            address = new CustomerMatchAddress(Sha256(first), Sha256(last), country, postal);
        return new CustomerMatchUser(email is null ? null : Sha256(email), phone is null ? null : Sha256(phone), address, ValueMicros(m));
    }

    /// <summary>The sync's ValueTrait as micros (value x 1,000,000, rounded); a value that is no finite non-negative number is left out.</summary>
    public static long? ValueMicros(OutgoingMember m)
    {
        foreach (var (field, value) in m.Fields)
        {
            if (field != MemberProjection.ValueField) continue;
            double? v = value.ValueKind switch
            {
                JsonValueKind.Number when value.TryGetDouble(out var d) => d,
                JsonValueKind.String when double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
                _ => null,
            };
            if (v is not { } x || !double.IsFinite(x) || x < 0 || x > long.MaxValue / 1_000_000d) return null;
            return (long)Math.Round(x * 1_000_000d, MidpointRounding.AwayFromZero);
        }
        return null;
    }

    /// <summary>A UserData object: {"userIdentifiers":[...], "userAttribute":{"lifetimeValueMicros":"..."}} (int64 as a JSON string, as proto3 JSON writes it).</summary>
    public static void WriteUserData(Utf8JsonWriter w, CustomerMatchUser u, bool withValue)
    {
        w.WriteStartObject();
        w.WriteStartArray("userIdentifiers");
        if (u.HashedEmail is not null) { w.WriteStartObject(); w.WriteString("hashedEmail", u.HashedEmail); w.WriteEndObject(); }
        if (u.HashedPhone is not null) { w.WriteStartObject(); w.WriteString("hashedPhoneNumber", u.HashedPhone); w.WriteEndObject(); }
        if (u.Address is { } a)
        {
            w.WriteStartObject();
            w.WriteStartObject("addressInfo");
            w.WriteString("hashedFirstName", a.HashedFirstName);
            w.WriteString("hashedLastName", a.HashedLastName);
            w.WriteString("countryCode", a.CountryCode);
            w.WriteString("postalCode", a.PostalCode);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (withValue && u.LifetimeValueMicros is { } micros)
        {
            w.WriteStartObject("userAttribute");
            w.WriteString("lifetimeValueMicros", micros.ToString(CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
