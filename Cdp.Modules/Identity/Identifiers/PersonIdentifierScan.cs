using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Cdp.Modules.Identity.Identifiers;

/// <summary>
/// "This person's identifiers" wherever they arrive, for privacy (suppression at ingest, subject access export, erasure):
/// everything identity resolution reads (<see cref="IdentifierCatalogue.Extract"/>), plus identifier traits in any case
/// and spelling (traits.Email, context.traits.PHONE), context.externalIds[] whose type names an identifier type ("email",
/// "Phone"), the alias previousId read as a user id too, and email- and phone-shaped values anywhere in the payload
/// (properties.email, a userId that is an address, traits.email_address...). Every value is normalised as identity does
/// (so Jane.Doe+promo@googlemail.com is email:janedoe@gmail.com and "+44 20 7946 0958" is phone:+442079460958).
/// Fast on the ingest path: a value is decoded only when its raw bytes could be an address (they hold '@') or a phone
/// (7 to 15 digits and nothing but + ( ) - . / and spaces around them); every other value costs a byte scan.
/// </summary>
internal sealed class PersonIdentifierScan(IdentifierCatalogue catalogue)
{
    /// <summary>Nesting followed into a payload (the JSON readers stop at 64 anyway).</summary>
    private const int MaxDepth = 64;

    /// <summary>Digits in a phone number: E.164 allows at most 15; fewer than 7 is an extension, a year, a count.</summary>
    private const int MinPhoneDigits = 7, MaxPhoneDigits = 15;

    /// <summary>Longest text read as one phone number (with its spaces and punctuation).</summary>
    private const int MaxPhoneChars = 40;

    /// <summary>
    /// Visits every identifier of <paramref name="payload"/> (normalised "type:value"; a key may come more than once);
    /// <paramref name="visit"/> answers true to stop. Only types accepted by <paramref name="types"/> (null: all) are read.
    /// Returns true when a visit stopped the scan.
    /// </summary>
    public bool Scan(JsonElement payload, Func<string, bool>? types, Func<string, bool> visit)
    {
        if (payload.ValueKind == JsonValueKind.Object)
        {
            foreach (var id in catalogue.Extract(payload, include: types))
                if (visit(id.Key)) return true;
            if (catalogue.UserId is { } uid && Included(uid, types) && Str(payload, "previousId") is { } previous
                && catalogue.Normalise(uid, previous) is { } pv && visit(uid.Name + ":" + pv)) return true;
            if (LooseFields(payload, types, visit)) return true;
        }
        var emails = Any(catalogue.EmailTypes, types);
        var phones = Any(catalogue.PhoneTypes, types);
        return (emails || phones) && Values(payload, null, emails, phones, types, visit, 0);
    }

    /// <summary>Every identifier of a payload, once each.</summary>
    public HashSet<string> All(JsonElement payload, Func<string, bool>? types)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        Scan(payload, types, k => { found.Add(k); return false; });
        return found;
    }

    /// <summary>
    /// Every identifier in free text (a dead letter's raw text, an error message): when the text is JSON, all of
    /// <see cref="Scan"/>; in any case every email-shaped token and every phone-shaped run of the text.
    /// </summary>
    public HashSet<string> InText(string text, Func<string, bool>? types)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        var trimmed = text.AsSpan().TrimStart();
        if (trimmed.Length > 0 && trimmed[0] is '{' or '[')
        {
            try
            {
                using var doc = JsonDocument.Parse(text);
                Scan(doc.RootElement, types, k => { found.Add(k); return false; });
            }
            catch (JsonException)
            {
                // not JSON (truncated, hostile): the token scan below is all there is
            }
        }
        var emails = Any(catalogue.EmailTypes, types);
        var phones = Any(catalogue.PhoneTypes, types);
        if (emails) foreach (var token in EmailTokens(text)) AddEmail(token, types, k => { found.Add(k); return false; });
        if (phones) foreach (var run in PhoneRuns(text)) AddPhone(run, types, k => { found.Add(k); return false; });
        return found;
    }

    private static bool Included(IdentifierType t, Func<string, bool>? types) => types is null || types(t.Name);

    private static bool Any(IReadOnlyList<IdentifierType> list, Func<string, bool>? types)
    {
        foreach (var t in list) if (Included(t, types)) return true;
        return false;
    }

    /// <summary>Identifier traits in any case (traits and context.traits) and externalIds whose type names an identifier type.</summary>
    private bool LooseFields(JsonElement e, Func<string, bool>? types, Func<string, bool> visit)
    {
        if (e.TryGetProperty("traits", out var traits) && LooseTraits(traits, types, visit)) return true;
        if (!e.TryGetProperty("context", out var ctx) || ctx.ValueKind != JsonValueKind.Object) return false;
        if (ctx.TryGetProperty("traits", out var ct) && LooseTraits(ct, types, visit)) return true;
        if (ctx.TryGetProperty("externalIds", out var ext) && ext.ValueKind == JsonValueKind.Array)
            foreach (var x in ext.EnumerateArray())
                if (x.ValueKind == JsonValueKind.Object && Str(x, "type") is { } t && catalogue.ExternalTypeLoosely(t) is { } type
                    && Included(type, types) && catalogue.Normalise(type, Str(x, "id")) is { } v && visit(type.Name + ":" + v)) return true;
        return false;
    }

    private bool LooseTraits(JsonElement traits, Func<string, bool>? types, Func<string, bool> visit)
    {
        if (traits.ValueKind != JsonValueKind.Object) return false;
        foreach (var p in traits.EnumerateObject())
        {
            if (p.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Number)) continue;
            if (catalogue.TraitTypeLoosely(p.Name) is not { } type || !Included(type, types)) continue;
            var raw = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.GetRawText();
            if (catalogue.Normalise(type, raw) is { } v && visit(type.Name + ":" + v)) return true;
        }
        return false;
    }

    /// <summary>Email- and phone-shaped values anywhere (strings; numbers under a name that says phone).</summary>
    private bool Values(JsonElement e, string? name, bool emails, bool phones, Func<string, bool>? types, Func<string, bool> visit, int depth)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                if (depth >= MaxDepth) return false;
                foreach (var p in e.EnumerateObject())
                    if (Values(p.Value, p.Name, emails, phones, types, visit, depth + 1)) return true;
                return false;
            case JsonValueKind.Array:
                if (depth >= MaxDepth) return false;
                foreach (var item in e.EnumerateArray())
                    if (Values(item, name, emails, phones, types, visit, depth + 1)) return true;
                return false;
            case JsonValueKind.String:
                return StringValue(e, emails, phones, types, visit);
            case JsonValueKind.Number:
                return phones && name is not null && NamesAPhone(name) && AddPhone(e.GetRawText(), types, visit);
            default:
                return false;
        }
    }

    private bool StringValue(JsonElement e, bool emails, bool phones, Func<string, bool>? types, Func<string, bool> visit)
    {
        var raw = JsonMarshal.GetRawUtf8Value(e);
        if (raw.Length >= 2 && raw[0] == '"') raw = raw[1..^1];
        if (raw.IndexOf((byte)'\\') >= 0) // escaped: judge the text itself (an escaped '@' must not hide an address)
        {
            var s = e.GetString()!;
            if (emails && s.Contains('@')) foreach (var token in EmailTokens(s)) if (AddEmail(token, types, visit)) return true;
            return phones && PhoneShaped(s) && AddPhone(s, types, visit);
        }
        if (emails && raw.IndexOf((byte)'@') >= 0)
        {
            foreach (var token in EmailTokens(e.GetString()!)) if (AddEmail(token, types, visit)) return true;
            return false;
        }
        return phones && PhoneShaped(raw) && AddPhone(e.GetString()!, types, visit);
    }

    private bool AddEmail(string token, Func<string, bool>? types, Func<string, bool> visit)
    {
        foreach (var t in catalogue.EmailTypes)
            if (Included(t, types) && catalogue.Normalise(t, token) is { } v && visit(t.Name + ":" + v)) return true;
        return false;
    }

    private bool AddPhone(string text, Func<string, bool>? types, Func<string, bool> visit)
    {
        foreach (var t in catalogue.PhoneTypes)
            if (Included(t, types) && catalogue.Normalise(t, text) is { } v && visit(t.Name + ":" + v)) return true;
        return false;
    }

    private static bool NamesAPhone(string name) =>
        name.Contains("phone", StringComparison.OrdinalIgnoreCase) || name.Contains("mobile", StringComparison.OrdinalIgnoreCase)
        || name.Contains("tel", StringComparison.OrdinalIgnoreCase);

    /// <summary>The addresses in a text: around each '@', the characters an address can hold ("write to <jane@x.com>." gives jane@x.com).</summary>
    public static IEnumerable<string> EmailTokens(string text)
    {
        for (var at = text.IndexOf('@'); at >= 0; at = text.IndexOf('@', at + 1))
        {
            var start = at;
            while (start > 0 && IsLocalChar(text[start - 1])) start--;
            var end = at + 1;
            while (end < text.Length && IsDomainChar(text[end])) end++;
            while (end > at + 1 && text[end - 1] is '.' or '-') end--; // the full stop after an address
            if (start < at && end > at + 1) yield return text[start..end];
        }
    }

    private static bool IsLocalChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '%' or '+' or '-' or '\'' or '!' or '#' or '$' or '&' or '*' or '=' or '?' or '^' or '`' or '{' or '|' or '}' or '~';

    private static bool IsDomainChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '-';

    /// <summary>The runs of a text that are phone-shaped (see <see cref="PhoneShaped(ReadOnlySpan{char})"/>).</summary>
    public static IEnumerable<string> PhoneRuns(string text)
    {
        var i = 0;
        while (i < text.Length)
        {
            if (!(char.IsAsciiDigit(text[i]) || text[i] is '+' or '(')) { i++; continue; }
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] is ' ' or '-' or '.' or '(' or ')' or '/' || (text[i] == '+' && i == start))) i++;
            var found = PhoneRun(text, start, i);
            if (found is not null) yield return found;
            if (i == start) i++;
        }
    }

    private static string? PhoneRun(string text, int start, int end)
    {
        var run = text.AsSpan(start, end - start).TrimEnd(" -./(");
        var alone = (start == 0 || !char.IsAsciiLetter(text[start - 1])) && (end == text.Length || !char.IsAsciiLetter(text[end]));
        return run.Length > 0 && alone && PhoneShaped(run) ? run.ToString() : null;
    }

    /// <summary>
    /// Could be a phone number, judged on the characters alone: 7 to 15 digits, only + (first) ( ) - . / and spaces beside
    /// them, and not a dotted IPv4 address nor a date (2026-11-28, 28.11.2026, 11/28/2026).
    /// </summary>
    public static bool PhoneShaped(ReadOnlySpan<char> s)
    {
        s = s.Trim(' ');
        if (s.Length is < MinPhoneDigits or > MaxPhoneChars) return false;
        int digits = 0, dots = 0, groups = 0, longestGroup = 0, group = 0, seps = 0;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsAsciiDigit(c)) { digits++; group++; continue; }
            if (c == '+' && i == 0) continue;
            if (c is not (' ' or '-' or '.' or '(' or ')' or '/')) return false;
            if (c == '.') dots++;
            seps++;
            if (group > 0) { groups++; longestGroup = Math.Max(longestGroup, group); group = 0; }
        }
        if (group > 0) { groups++; longestGroup = Math.Max(longestGroup, group); }
        if (digits is < MinPhoneDigits or > MaxPhoneDigits) return false;
        if (dots == 3 && groups == 4 && longestGroup <= 3 && seps == 3) return false; // 203.0.113.7
        if (groups == 3 && seps == 2 && digits == 8 && s[0] != '+') return false;      // 2026-11-28, 28.11.2026, 11/28/2026
        return true;
    }

    private static bool PhoneShaped(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length is < MinPhoneDigits or > MaxPhoneChars) return false;
        Span<char> chars = stackalloc char[utf8.Length];
        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] >= 0x80) return false;
            chars[i] = (char)utf8[i];
        }
        return PhoneShaped(chars);
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        } : null;
}
