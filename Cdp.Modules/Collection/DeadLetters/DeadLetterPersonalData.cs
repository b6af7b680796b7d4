using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Collection.DeadLetters;

/// <summary>
/// Dead letters' part of a person: refused events kept with their raw text (dead_letters). They are attributed to nobody
/// (they never reached identity resolution), so a dead letter is the person's when its raw payload carries one of the
/// person's identifiers in any spelling (ITextIdentifiers.IdentifiersInText, implemented by Identity: read as identity reads an event when the text is
/// JSON, and every email- and phone-shaped token normalised: "(650) 253-0000" is the phone +16502530000, "mary.major@gmail.com"
/// is marymajor@gmail.com), or an identifier's value found anywhere in the raw text as a whole token (case-insensitive). Export and
/// erasure use the same predicate; erasure deletes the whole dead letter (its raw text is the personal data).
/// </summary>
[Service]
internal sealed class DeadLetterPersonalData(IDeadLetterStore store, ITextIdentifiers identifiers) : IPersonalDataHolder
{
    /// <summary>
    /// Identifier values shorter than this are not searched for as plain text: a short anonymous id ("abc") would match
    /// unrelated payloads. They still match where identity reads them (userId, anonymousId, traits...).
    /// </summary>
    public const int MinTextMatchLength = 6;

    public string Section => "deadLetters";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, IUnitOfWork tx)
    {
        var match = Matcher(subject);
        // no index on a dead letter's identifiers: one scan, fine for a rare admin action
        var ids = store.All().Where(match).Select(d => d.Id).ToList();
        return new Dictionary<string, long> { ["deadLetters"] = store.Delete(tx, ids) };
    }

    public JsonNode? Export(PersonalDataSubject subject)
    {
        var match = Matcher(subject);
        var items = store.All().Where(match).Select(d => JsonSerializer.SerializeToNode(d, JsonSerializerOptions.Web)).ToArray();
        return new JsonArray(items);
    }

    private Func<DeadLetter, bool> Matcher(PersonalDataSubject subject)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var k in subject.Identifiers)
        {
            keys.Add(k);
            var colon = k.IndexOf(':');
            if (identifiers.Normalise(k[..colon], k[(colon + 1)..]) is { } again) keys.Add(again); // stored before a rule changed
        }
        var types = keys.Select(k => k[..k.IndexOf(':')]).ToHashSet(StringComparer.Ordinal);
        var values = keys.Select(k => k[(k.IndexOf(':') + 1)..]).Where(v => v.Length >= MinTextMatchLength).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        return d => Carries(d.Raw, keys, types, values);
    }

    /// <summary>
    /// The raw text holds one of the keys in any spelling (read as identity reads an event when it is JSON, and every email-
    /// and phone-shaped token of the text normalised: "mary.major@gmail.com", "+44 20 7946 0958"), or a value as a whole token.
    /// </summary>
    private bool Carries(string raw, HashSet<string> keys, HashSet<string> types, List<string> values)
    {
        foreach (var v in values)
            if (ContainsWhole(raw, v)) return true;
        if (keys.Count == 0) return false;
        try
        {
            return identifiers.IdentifiersInText(raw, types.Contains).Overlaps(keys);
        }
        catch (ArgumentException)
        {
            return false; // a payload the identifier reader cannot take: the text search above is all there is
        }
    }

    /// <summary><paramref name="value"/> in <paramref name="text"/> as a whole token: "u-jane" is not found in "u-janet" nor "u-jane-2".</summary>
    public static bool ContainsWhole(string text, string value)
    {
        for (var at = text.IndexOf(value, StringComparison.OrdinalIgnoreCase); at >= 0; at = text.IndexOf(value, at + 1, StringComparison.OrdinalIgnoreCase))
        {
            var end = at + value.Length;
            if ((at == 0 || !IsTokenChar(text[at - 1])) && (end == text.Length || !IsTokenChar(text[end]))) return true;
        }
        return false;
    }

    private static bool IsTokenChar(char c) => char.IsLetterOrDigit(c) || c is '-' or '_' or '@' or '+';
}
