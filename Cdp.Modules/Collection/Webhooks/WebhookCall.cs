using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cdp.Modules.Collection.Webhooks;

/// <summary>
/// One item of a vendor's delivery, read: either a Segment call (<see cref="Call"/>) or the reason it could not be read
/// (<see cref="Error"/>, kept as a dead letter). <see cref="Raw"/> is the vendor's item as it came, for the dead letter.
/// </summary>
internal sealed record WebhookItem(WebhookCall? Call, string Raw, string? Error = null, string Field = "webhook")
{
    public static WebhookItem Unreadable(string raw, string field, string error) => new(null, raw, error, field);
}

/// <summary>
/// A Segment call built from a vendor's event: what the ordinary ingest path (validation, normalisation, dedup,
/// suppression, the event log) receives, so identity, profiles, segments and privacy apply unchanged.
/// </summary>
internal sealed class WebhookCall
{
    public string Type { get; set; } = "track";
    public string? Event { get; set; }
    public string? UserId { get; set; }
    public string? AnonymousId { get; set; }

    /// <summary>The vendor's id of the event (or a hash of the item): the vendor's retries are stored once.</summary>
    public required string MessageId { get; init; }

    /// <summary>The vendor's event time as it came (ISO-8601 or Unix seconds); null: the time Cdp received it.</summary>
    public JsonNode? Timestamp { get; set; }

    public JsonObject Properties { get; } = [];

    /// <summary>The person's traits and identifiers (email, phone): identify traits, else context.traits.</summary>
    public JsonObject Traits { get; } = [];

    /// <summary>A consent purpose this event revokes (Segment's context.consent.categoryPreferences: { purpose: false }).</summary>
    public string? RevokesPurpose { get; set; }

    /// <summary>When the person has no user id or anonymous id, the email (lower case) stands in as the anonymous id Segment requires.</summary>
    public void AnonymousFromEmail()
    {
        if (UserId is not null || AnonymousId is not null) return;
        if (Traits["email"] is JsonValue v && v.TryGetValue<string>(out var email) && email.Trim().Length > 0) AnonymousId = email.Trim().ToLowerInvariant();
    }

    public byte[] ToJson()
    {
        var o = new JsonObject { ["type"] = Type, ["messageId"] = MessageId };
        if (Event is not null) o["event"] = Event;
        if (UserId is not null) o["userId"] = UserId;
        if (AnonymousId is not null) o["anonymousId"] = AnonymousId;
        if (Timestamp is not null) o["timestamp"] = Timestamp.DeepClone();
        var isTraitCall = Type is "identify" or "group";
        if (!isTraitCall) o["properties"] = Properties.DeepClone(); // identify and group calls carry traits, not properties
        var context = new JsonObject();
        if (Traits.Count > 0)
        {
            if (isTraitCall) o["traits"] = Traits.DeepClone();
            else context["traits"] = Traits.DeepClone();
        }
        if (RevokesPurpose is { Length: > 0 } purpose)
            context["consent"] = new JsonObject { ["categoryPreferences"] = new JsonObject { [purpose] = false } };
        if (context.Count > 0) o["context"] = context;
        return JsonSerializer.SerializeToUtf8Bytes(o);
    }

    /// <summary>A vendor id as a messageId: as it came when it fits the 100-character limit, else its SHA-256.</summary>
    public static string MessageIdOf(string prefix, string vendorId)
    {
        var id = prefix + vendorId;
        return id.Length <= Limits.MaxMessageIdLength ? id : prefix + Hash(Encoding.UTF8.GetBytes(vendorId));
    }

    /// <summary>For vendors without an event id: a hash of the item's bytes, so an identical redelivery gets the same messageId.</summary>
    public static string Hash(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes))[..40];

    /// <summary>A copy of a vendor's JSON value, or null for JSON null / absent.</summary>
    public static JsonNode? Copy(JsonElement e) => e.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? null : JsonNode.Parse(e.GetRawText());

    public static string? Text(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        } : null;
}
