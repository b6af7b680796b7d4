using System.Globalization;
using System.Text.Json;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Engine;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>
/// Each vendor's published limits on a contact, applied before a row is sent: a row that breaks one is fixed by the documented
/// rule (a text too long is cut when the destination's TruncateLongFields is true) or rejected alone with its reason, so it
/// never takes its batch down at the vendor.
/// </summary>
internal static class VendorFieldRules
{
    /// <summary>SendGrid contact-request (its OpenAPI document, components.schemas.contact-request): maxLength per reserved field.</summary>
    private static readonly Dictionary<string, int> SendGridLengths = new(StringComparer.Ordinal)
    {
        ["first_name"] = 50, ["last_name"] = 50, ["address_line_1"] = 100, ["address_line_2"] = 100, ["city"] = 60,
        ["country"] = 50, ["state_province_region"] = 50,
    };

    /// <summary>SendGrid: an email (the contact key) is at most 254 characters (contact-request.email maxLength).</summary>
    public const int SendGridEmailLength = 254;

    /// <summary>Mailchimp: a text merge field holds at most 255 characters (its documented merge field limit).</summary>
    public const int MailchimpMergeFieldLength = 255;

    /// <summary>The row as it may be sent, or the reason it cannot be (then it is rejected alone).</summary>
    public static (OutgoingMember? Row, string? Reason) Apply(DestinationSettings d, OutgoingMember m)
    {
        switch (d.Kind)
        {
            case DestinationType.SendGrid:
                if (m.Key.Length > SendGridEmailLength)
                    return (null, $"email has {m.Key.Length} characters; SendGrid accepts at most {SendGridEmailLength} (not sent)");
                return Lengths(d, m, "SendGrid", f => SendGridLengths.TryGetValue(f, out var max) ? max : null, reservedAsText: f => SendGridLengths.ContainsKey(f));
            case DestinationType.Mailchimp:
                return Lengths(d, m, "Mailchimp", _ => MailchimpMergeFieldLength, reservedAsText: _ => false);
            default:
                return (m, null);
        }
    }

    private static (OutgoingMember? Row, string? Reason) Lengths(DestinationSettings d, OutgoingMember m, string vendor, Func<string, int?> limit, Func<string, bool> reservedAsText)
    {
        List<KeyValuePair<string, JsonElement>>? changed = null;
        for (var i = 0; i < m.Fields.Count; i++)
        {
            var (field, value) = m.Fields[i];
            if (limit(field) is not { } max) continue;
            var text = value.ValueKind == JsonValueKind.String ? value.GetString()!
                : reservedAsText(field) && value.ValueKind is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False ? value.GetRawText()
                : null;
            if (text is null) continue;
            var replacement = text;
            if (text.Length > max)
            {
                if (!d.TruncateLongFields)
                    return (null, string.Create(CultureInfo.InvariantCulture,
                        $"{field} has {text.Length} characters; {vendor} accepts at most {max} (not sent; TruncateLongFields=true cuts such values instead)"));
                replacement = Cut(text, max);
            }
            if (replacement == text && value.ValueKind == JsonValueKind.String) continue;
            changed ??= [.. m.Fields];
            changed[i] = new(field, JsonSerializer.SerializeToElement(replacement));
        }
        return (changed is null ? m : m with { Fields = changed }, null);
    }

    /// <summary>The first <paramref name="max"/> characters, never splitting a surrogate pair.</summary>
    private static string Cut(string text, int max) =>
        char.IsHighSurrogate(text[max - 1]) ? text[..(max - 1)] : text[..max];
}
