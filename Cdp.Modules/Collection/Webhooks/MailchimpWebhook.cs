using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace Cdp.Modules.Collection.Webhooks;

/// <summary>
/// Mailchimp's audience webhooks: one form-encoded POST per change, <c>type</c> = subscribe, unsubscribe, profile, upemail,
/// cleaned or campaign, <c>fired_at</c> ("2009-03-26 21:35:57", UTC) and the change in <c>data[...]</c> fields. Mailchimp
/// signs nothing: the URL carries a secret path segment (compared in constant time), and Mailchimp checks the URL with a GET
/// when the webhook is saved.
/// </summary>
internal static class MailchimpWebhook
{
    /// <summary>Opt-outs by default: the person unsubscribed, or Mailchimp cleaned the address (hard bounce or abuse).</summary>
    public static readonly string[] DefaultOptOuts = ["unsubscribe", "cleaned"];

    /// <summary>Merge tags with a Segment trait name; other merge tags keep their tag, lower-cased.</summary>
    private static readonly Dictionary<string, string> MergeTraits = new(StringComparer.OrdinalIgnoreCase)
    {
        ["EMAIL"] = "email", ["FNAME"] = "first_name", ["LNAME"] = "last_name", ["PHONE"] = "phone", ["BIRTHDAY"] = "birthday",
    };

    public static WebhookItem Read(ReadOnlySpan<byte> body, IReadOnlySet<string> optOuts, string? purpose)
    {
        var text = Encoding.UTF8.GetString(body);
        Dictionary<string, StringValues> form;
        try { form = QueryHelpers.ParseQuery(text.StartsWith('?') ? text : "?" + text); }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidDataException)
        {
            return WebhookItem.Unreadable(text, "body", "the body is not form-encoded: " + ex.Message);
        }
        string? F(string name) => form.TryGetValue(name, out var v) && v.Count == 1 && v[0] is { Length: > 0 } s ? s : null;
        var type = F("type");
        if (type is null) return WebhookItem.Unreadable(text, "type", "the Mailchimp webhook has no \"type\" field");

        var call = new WebhookCall { MessageId = "mailchimp:" + WebhookCall.Hash(body) };
        if (F("fired_at") is { } fired)
        {
            if (!DateTime.TryParseExact(fired, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at))
                return WebhookItem.Unreadable(text, "fired_at", $"fired_at \"{fired}\" is not yyyy-MM-dd HH:mm:ss");
            call.Timestamp = at.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        }
        // the change's fields as properties (data[merges][...] become traits below)
        foreach (var (key, values) in form)
        {
            if (!key.StartsWith("data[", StringComparison.Ordinal) || key.StartsWith("data[merges]", StringComparison.Ordinal)) continue;
            call.Properties[Flatten(key["data".Length..])] = values.Count == 1 ? values[0] : new JsonArray(values.Select(v => (JsonNode?)v).ToArray());
        }
        foreach (var (key, values) in form)
        {
            if (!key.StartsWith("data[merges][", StringComparison.Ordinal) || values.Count != 1 || string.IsNullOrEmpty(values[0])) continue;
            var tag = Flatten(key["data[merges]".Length..]);
            call.Traits[MergeTraits.GetValueOrDefault(tag) ?? tag.ToLowerInvariant()] = values[0];
        }
        if (F("data[email]") is { } email) call.Traits["email"] = email;
        if (F("data[list_id]") is { } list) call.Properties["list_id"] = list;
        call.Properties["vendor"] = "mailchimp";
        call.Properties["vendor_event"] = type;

        switch (type)
        {
            case "subscribe": call.Event = "Subscribed"; break;
            case "unsubscribe": call.Event = "Unsubscribed"; break;
            case "profile": call.Type = "identify"; break;
            case "cleaned": call.Event = "Email Address Cleaned"; break;
            case "upemail":
                call.Event = "Email Address Changed";
                if (F("data[new_email]") is not { } newEmail) return WebhookItem.Unreadable(text, "data[new_email]", "an upemail webhook without data[new_email]");
                call.Traits["email"] = newEmail;
                break;
            case "campaign":
                // a campaign's status change concerns no person: it lands on one profile per audience
                call.Event = "Campaign " + Title(F("data[status]") ?? "changed");
                call.AnonymousId = "mailchimp-audience:" + (F("data[list_id]") ?? "unknown");
                break;
            default: call.Event = "Mailchimp " + type; break;
        }
        if (call.AnonymousId is null && !call.Traits.ContainsKey("email"))
            return WebhookItem.Unreadable(text, "data[email]", $"the Mailchimp {type} webhook has no data[email]: it cannot be tied to a person");
        if (purpose is not null && optOuts.Contains(type)) call.RevokesPurpose = purpose;
        call.AnonymousFromEmail();
        return new WebhookItem(call, text);
    }

    /// <summary>"[merges][ADDRESS][city]" → "ADDRESS_city"; "[list_id]" → "list_id".</summary>
    private static string Flatten(string brackets) => string.Join('_', brackets.Split(['[', ']'], StringSplitOptions.RemoveEmptyEntries));

    private static string Title(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
