using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Collection.DeadLetters;

/// <summary>
/// Dead letters' part of a person: refused events kept with their raw text (dead_letters). They are attributed to nobody
/// (they never reached identity resolution), so a dead letter is the person's when its raw payload carries one of the
/// person's identifiers: read as identity reads an event (normalised: "(650) 253-0000" is the phone +16502530000), or,
/// anywhere else, an identifier's value found in the raw text as a whole token (case-insensitive). Export and
/// erasure use the same predicate; erasure deletes the whole dead letter (its raw text is the personal data).
/// </summary>
[Service]
internal sealed class DeadLetterPersonalData(CdpDatabase db, IIdentifierReader identifiers) : IPersonalDataHolder
{
    /// <summary>
    /// Identifier values shorter than this are not searched for as plain text: a short anonymous id ("abc") would match
    /// unrelated payloads. They still match where identity reads them (userId, anonymousId, traits...).
    /// </summary>
    public const int MinTextMatchLength = 6;

    public string Section => "deadLetters";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, LiteDatabase database)
    {
        var deadLetters = database.GetCollection(EventLogSchema.DeadLetters, BsonAutoId.Int64);
        var match = Matcher(subject);
        // no index on a dead letter's identifiers: one scan, fine for a rare admin action
        var ids = deadLetters.FindAll().Where(match).Select(d => d["_id"]).ToList();
        long erased = 0;
        foreach (var id in ids) if (deadLetters.Delete(id)) erased++;
        return new Dictionary<string, long> { ["deadLetters"] = erased };
    }

    public JsonNode? Export(PersonalDataSubject subject)
    {
        var match = Matcher(subject);
        var items = db.Collection(EventLogSchema.DeadLetters).FindAll().Where(match)
            .Select(d => System.Text.Json.JsonSerializer.SerializeToNode(DeadLetter.FromBson(d), JsonSerializerOptions.Web)).ToArray();
        return new JsonArray(items);
    }

    private Func<BsonDocument, bool> Matcher(PersonalDataSubject subject)
    {
        var keys = subject.Identifiers.ToHashSet(StringComparer.Ordinal);
        var types = keys.Select(k => k[..k.IndexOf(':')]).ToHashSet(StringComparer.Ordinal);
        var values = keys.Select(k => k[(k.IndexOf(':') + 1)..]).Where(v => v.Length >= MinTextMatchLength).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        return d => d["raw"].IsString && Carries(d["raw"].AsString, keys, types, values);
    }

    private bool Carries(string raw, HashSet<string> keys, HashSet<string> types, List<string> values)
    {
        foreach (var v in values)
            if (ContainsWhole(raw, v)) return true;
        if (keys.Count == 0) return false;
        try
        {
            using var doc = JsonDocument.Parse(raw);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return false;
            foreach (var key in identifiers.Identifiers(doc.RootElement, types.Contains))
                if (keys.Contains(key)) return true;
        }
        catch (JsonException)
        {
            // not JSON: the text search above is all there is
        }
        catch (ArgumentException)
        {
            // a payload the identifier reader cannot take (e.g. a value that does not normalise): the same
        }
        return false;
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
