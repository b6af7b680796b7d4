using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using PhoneNumbers;

namespace Cdp.Modules.Activation.Destinations.Meta;

/// <summary>
/// Meta's customer-list identifiers, normalised as the Marketing API's "Hashing and Normalizing Data" table says, then SHA-256
/// hashed (lowercase hex of the UTF-8 bytes). A value that cannot be normalised (no '@' in an email, an impossible phone number,
/// a country that is not ISO 3166-1 alpha-2...) is null: it costs that identifier, never the row.
/// <list type="bullet">
/// <item>EMAIL: trimmed, lowercase.</item>
/// <item>PHONE: digits only with the country code, no '+' and no leading zeros (E.164 without '+', by libphonenumber; numbers
/// written without a country code read in DefaultPhoneRegion).</item>
/// <item>FN, LN, CT: lowercase letters only (no spaces, punctuation or digits); letters outside a-z kept as UTF-8 (é).</item>
/// <item>ST: lowercase letters only; a US state's name becomes its 2-letter ANSI code ("California" -> "ca").</item>
/// <item>ZIP: lowercase without spaces; US ZIP+4 cut to its first 5 digits; otherwise the part before a '-'.</item>
/// <item>COUNTRY: ISO 3166-1 alpha-2, lowercase.</item>
/// <item>DOBY: 4 digits; DOBM, DOBD: 2 digits (a full date such as 1990-05-17 gives each its part).</item>
/// <item>GEN: f or m (female/male accepted).</item>
/// <item>EXTERN_ID: trimmed and hashed (Meta does not require the hash; Cdp hashes it so that only hashes leave).</item>
/// <item>MADID: lowercase with its hyphens, NOT hashed (Meta's table: "Do not hash").</item>
/// </list>
/// </summary>
internal static class MetaNormalisation
{
    /// <summary>Meta's schema keys Cdp can send, in the order a payload's schema lists them.</summary>
    public static readonly IReadOnlyList<string> Keys = ["EMAIL", "PHONE", "FN", "LN", "CT", "ST", "ZIP", "COUNTRY", "DOBY", "DOBM", "DOBD", "GEN", "EXTERN_ID", "MADID"];

    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    /// <summary>ISO 3166-1 alpha-2 codes (libphonenumber's regions: every country and territory with a phone plan).</summary>
    private static readonly HashSet<string> Countries = Phones.GetSupportedRegions().Select(r => r.ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);

    private static readonly Dictionary<string, string> UsStates = new(StringComparer.Ordinal)
    {
        ["alabama"] = "al", ["alaska"] = "ak", ["arizona"] = "az", ["arkansas"] = "ar", ["california"] = "ca", ["colorado"] = "co",
        ["connecticut"] = "ct", ["delaware"] = "de", ["districtofcolumbia"] = "dc", ["washingtondc"] = "dc", ["florida"] = "fl",
        ["georgia"] = "ga", ["hawaii"] = "hi", ["idaho"] = "id", ["illinois"] = "il", ["indiana"] = "in", ["iowa"] = "ia", ["kansas"] = "ks",
        ["kentucky"] = "ky", ["louisiana"] = "la", ["maine"] = "me", ["maryland"] = "md", ["massachusetts"] = "ma", ["michigan"] = "mi",
        ["minnesota"] = "mn", ["mississippi"] = "ms", ["missouri"] = "mo", ["montana"] = "mt", ["nebraska"] = "ne", ["nevada"] = "nv",
        ["newhampshire"] = "nh", ["newjersey"] = "nj", ["newmexico"] = "nm", ["newyork"] = "ny", ["northcarolina"] = "nc",
        ["northdakota"] = "nd", ["ohio"] = "oh", ["oklahoma"] = "ok", ["oregon"] = "or", ["pennsylvania"] = "pa", ["rhodeisland"] = "ri",
        ["southcarolina"] = "sc", ["southdakota"] = "sd", ["tennessee"] = "tn", ["texas"] = "tx", ["utah"] = "ut", ["vermont"] = "vt",
        ["virginia"] = "va", ["washington"] = "wa", ["westvirginia"] = "wv", ["wisconsin"] = "wi", ["wyoming"] = "wy", ["puertorico"] = "pr",
    };

    public static bool IsKey(string key) => Keys.Contains(key, StringComparer.Ordinal);

    /// <summary>The value as Meta receives it: normalised and hashed (MADID normalised only); null when it cannot be normalised.</summary>
    public static string? Wire(string key, string raw, string defaultRegion) =>
        Normalise(key, raw, defaultRegion) is not { Length: > 0 } n ? null : key == "MADID" ? n : Hash(n);

    public static string Hash(string normalised) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalised)));

    public static string? Normalise(string key, string raw, string defaultRegion)
    {
        var s = raw.Trim();
        if (s.Length == 0) return null;
        switch (key)
        {
            case "EMAIL":
                s = s.ToLowerInvariant();
                return s.IndexOf('@') is > 0 and var at && at < s.Length - 1 ? s : null;
            case "PHONE":
                return Phone(s, defaultRegion);
            case "FN" or "LN" or "CT":
                return Letters(s);
            case "ST":
                return Letters(s) is { } st ? UsStates.GetValueOrDefault(st, st) : null;
            case "ZIP":
                return Zip(s);
            case "COUNTRY":
                return Letters(s) is { Length: 2 } c && Countries.Contains(c) ? c : null;
            case "DOBY" or "DOBM" or "DOBD":
                return DatePart(key, s);
            case "GEN":
                return Letters(s) switch { "f" or "female" or "w" or "woman" => "f", "m" or "male" or "man" => "m", _ => null };
            case "EXTERN_ID":
                return s;
            case "MADID":
                return s.ToLowerInvariant();
            default:
                return null;
        }
    }

    /// <summary>Lowercase letters only (any script), NFC so that "é" is one code point as Meta's UTF-8 hashing expects.</summary>
    private static string? Letters(string s)
    {
        var b = new StringBuilder(s.Length);
        foreach (var ch in s.Normalize(NormalizationForm.FormC).ToLowerInvariant())
            if (char.IsLetter(ch)) b.Append(ch);
        return b.Length > 0 ? b.ToString() : null;
    }

    private static string? Phone(string s, string defaultRegion)
    {
        try
        {
            // "00" international prefix: libphonenumber reads it only for regions that dial 00; Meta drops leading zeros.
            if (s.StartsWith("00", StringComparison.Ordinal)) s = "+" + s[2..];
            var number = Phones.Parse(s, defaultRegion);
            if (!Phones.IsPossibleNumber(number) && !s.StartsWith('+'))
                number = Phones.Parse("+" + s, defaultRegion); // digits that start with their country code, written without '+'
            if (!Phones.IsPossibleNumber(number)) return null;
            return Phones.Format(number, PhoneNumberFormat.E164).TrimStart('+');
        }
        catch (NumberParseException)
        {
            return null;
        }
    }

    private static string? Zip(string s)
    {
        var z = new string(s.ToLowerInvariant().Where(c => !char.IsWhiteSpace(c)).ToArray());
        var digits = z.Replace("-", "", StringComparison.Ordinal);
        if (digits.Length is 5 or 9 && digits.All(char.IsAsciiDigit)) return digits[..5]; // US: ZIP or ZIP+4 -> the first 5 digits
        var dash = z.IndexOf('-');
        if (dash >= 0) z = z[..dash];
        return z.Length > 0 ? z : null;
    }

    private static string? DatePart(string key, string s)
    {
        if (DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var date)
            && s.Length >= 8)
            return key switch
            {
                "DOBY" => date.Year.ToString("D4", CultureInfo.InvariantCulture),
                "DOBM" => date.Month.ToString("D2", CultureInfo.InvariantCulture),
                _ => date.Day.ToString("D2", CultureInfo.InvariantCulture),
            };
        var digits = new string(s.Where(char.IsAsciiDigit).ToArray());
        if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return null;
        return key switch
        {
            "DOBY" => digits.Length == 4 && n >= 1900 ? digits : null,
            "DOBM" => n is >= 1 and <= 12 ? n.ToString("D2", CultureInfo.InvariantCulture) : null,
            _ => n is >= 1 and <= 31 ? n.ToString("D2", CultureInfo.InvariantCulture) : null,
        };
    }
}
