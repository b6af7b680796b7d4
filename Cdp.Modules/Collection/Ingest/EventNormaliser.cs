using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Cdp.Modules.Collection.Ingest;

/// <summary>An event ready for the log: its source, messageId and normalised JSON.</summary>
internal sealed record AcceptedEvent(string Source, string MessageId, byte[] Json)
{
    /// <summary>The log's document for this event, built on the request's thread so the single writer only links it into a chunk.</summary>
    public LiteDB.BsonDocument Document { get; } = EventLog.EventLogSchema.EventDocument(Source, MessageId, Json);
}

/// <summary>An event that failed validation, kept with its reasons (lenient mode) so nothing is silently dropped.</summary>
internal sealed record RejectedEvent(string Source, int Index, IReadOnlyList<EventError> Errors, string Raw);

internal sealed record EventError(int Index, string Field, string Message);

/// <summary>
/// Turns one Segment call (a JSON object) into the stored form: the original fields, plus
/// messageId (generated when missing), receivedAt (server time), timestamp corrected for clock skew
/// (timestamp = receivedAt - (sentAt - originalTimestamp)), and the batch's context/integrations merged in.
/// </summary>
internal sealed class EventNormaliser(TrackingEventValidator validator)
{
    /// <summary>Fields the normaliser writes itself; the caller's values are read, checked and rewritten.</summary>
    private static readonly HashSet<string> Rewritten = new(StringComparer.Ordinal)
    {
        "type", "messageId", "timestamp", "originalTimestamp", "receivedAt", "sentAt", "writeKey", "userId", "anonymousId",
    };

    public bool TryNormalise(
        JsonElement item, int index, string? routeType, BatchEnvelope envelope, DateTimeOffset receivedAt,
        string source, out AcceptedEvent? accepted, out IReadOnlyList<EventError> errors)
    {
        accepted = null;
        var size = JsonMarshal.GetRawUtf8Value(item).Length;
        var e = Extract(item, routeType, size);
        var failures = new List<EventError>();
        foreach (var (field, message) in e.ShapeErrors) failures.Add(new EventError(index, field, message));
        var result = validator.Validate(e);
        foreach (var f in result.Errors) failures.Add(new EventError(index, ToJsonName(f.PropertyName), f.ErrorMessage));
        errors = failures;
        if (failures.Count > 0) return false;

        var messageId = string.IsNullOrEmpty(e.MessageId) ? Guid.NewGuid().ToString() : e.MessageId!;
        var sentAt = e.SentAt ?? envelope.SentAt;
        var timestamp = e.Timestamp is { } original && sentAt is { } sent
            ? receivedAt - (sent - original)
            : e.Timestamp ?? receivedAt;

        var buffer = new ArrayBufferWriter<byte>(size + 256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", e.Type);
            w.WriteString("messageId", messageId);
            if (!string.IsNullOrEmpty(e.UserId)) w.WriteString("userId", e.UserId);
            if (!string.IsNullOrEmpty(e.AnonymousId)) w.WriteString("anonymousId", e.AnonymousId);
            w.WriteString("receivedAt", receivedAt.UtcDateTime);
            w.WriteString("timestamp", timestamp.UtcDateTime);
            if (e.Timestamp is { } ot) w.WriteString("originalTimestamp", ot);
            if (sentAt is { } sa) w.WriteString("sentAt", sa);
            foreach (var p in item.EnumerateObject())
            {
                if (Rewritten.Contains(p.Name)) continue;
                if (p.NameEquals("context") && envelope.Context is { } ctx) { WriteMerged(w, "context", ctx, p.Value); continue; }
                if (p.NameEquals("integrations") && envelope.Integrations is { } integ) { WriteMerged(w, "integrations", integ, p.Value); continue; }
                p.WriteTo(w);
            }
            if (envelope.Context is { } c && !item.TryGetProperty("context", out _)) { w.WritePropertyName("context"); c.WriteTo(w); }
            if (envelope.Integrations is { } i && !item.TryGetProperty("integrations", out _)) { w.WritePropertyName("integrations"); i.WriteTo(w); }
            w.WriteEndObject();
        }
        accepted = new AcceptedEvent(source, messageId, buffer.WrittenSpan.ToArray());
        return true;
    }

    /// <summary>Batch-level object first, then the item's own keys, which win.</summary>
    private static void WriteMerged(Utf8JsonWriter w, string name, JsonElement outer, JsonElement inner)
    {
        w.WritePropertyName(name);
        if (inner.ValueKind != JsonValueKind.Object || outer.ValueKind != JsonValueKind.Object) { inner.WriteTo(w); return; }
        w.WriteStartObject();
        foreach (var p in outer.EnumerateObject())
            if (!inner.TryGetProperty(p.Name, out _)) p.WriteTo(w);
        foreach (var p in inner.EnumerateObject()) p.WriteTo(w);
        w.WriteEndObject();
    }

    private static TrackingEvent Extract(JsonElement item, string? routeType, int size)
    {
        string? type = routeType;
        if (item.TryGetProperty("type", out var t) && routeType is null)
            type = t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        var e = new TrackingEvent { Type = type ?? "", SizeBytes = size };
        if (routeType is null && (t.ValueKind != JsonValueKind.String)) e.ShapeErrors.Add(("type", "type is required in a batch item and must be a string"));
        e.UserId = Id(item, "userId", e);
        e.AnonymousId = Id(item, "anonymousId", e);
        e.PreviousId = Id(item, "previousId", e);
        e.GroupId = Id(item, "groupId", e);
        e.MessageId = Str(item, "messageId", e);
        e.Event = Str(item, "event", e);
        e.Timestamp = Date(item, "timestamp", e);
        e.SentAt = Date(item, "sentAt", e);
        e.PropertyCount = Count(item, "properties", e);
        e.TraitCount = Math.Max(Count(item, "traits", e), ContextTraits(item));
        return e;
    }

    /// <summary>Segment ids are strings; numbers are accepted and kept as their JSON text (SDKs send numeric ids).</summary>
    private static string? Id(JsonElement item, string name, TrackingEvent e)
    {
        if (!item.TryGetProperty(name, out var v)) return null;
        switch (v.ValueKind)
        {
            case JsonValueKind.String: return v.GetString();
            case JsonValueKind.Number: return v.GetRawText();
            case JsonValueKind.Null: return null;
            default: e.ShapeErrors.Add((name, $"{name} must be a string (was {v.ValueKind.ToString().ToLowerInvariant()})")); return null;
        }
    }

    private static string? Str(JsonElement item, string name, TrackingEvent e)
    {
        if (!item.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        if (v.ValueKind == JsonValueKind.Null) return null;
        e.ShapeErrors.Add((name, $"{name} must be a string (was {v.ValueKind.ToString().ToLowerInvariant()})"));
        return null;
    }

    private static DateTimeOffset? Date(JsonElement item, string name, TrackingEvent e)
    {
        if (!item.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.String && v.TryGetDateTimeOffset(out var d)) return d;
        e.ShapeErrors.Add((name, $"{name} must be an ISO-8601 date-time string, e.g. 2024-05-01T10:00:00.000Z"));
        return null;
    }

    private static int Count(JsonElement item, string name, TrackingEvent e)
    {
        if (!item.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return 0;
        if (v.ValueKind != JsonValueKind.Object)
        {
            e.ShapeErrors.Add((name, $"{name} must be an object (was {v.ValueKind.ToString().ToLowerInvariant()})"));
            return 0;
        }
        var n = 0;
        foreach (var _ in v.EnumerateObject()) n++;
        return n;
    }

    private static int ContextTraits(JsonElement item)
    {
        if (!item.TryGetProperty("context", out var c) || c.ValueKind != JsonValueKind.Object) return 0;
        if (!c.TryGetProperty("traits", out var t) || t.ValueKind != JsonValueKind.Object) return 0;
        var n = 0;
        foreach (var _ in t.EnumerateObject()) n++;
        return n;
    }

    private static string ToJsonName(string property) =>
        property.Length == 0 ? property : char.ToLowerInvariant(property[0]) + property[1..];
}

/// <summary>What a /v1/batch request carries around its items (absent for single calls).</summary>
internal readonly record struct BatchEnvelope(JsonElement? Context, JsonElement? Integrations, DateTimeOffset? SentAt);
