using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Cdp.Modules.Collection.Ingest;

/// <summary>An event ready for the log: its source, messageId and normalised JSON.</summary>
internal sealed record AcceptedEvent(string Source, string MessageId, byte[] Json)
{
    /// <summary>
    /// The log store's own form of this event (LiteDB: its BSON document), made by <c>IEventLogStore.Prepare</c> on the
    /// submitting thread so that the single writer only links it into a chunk; null until then (and on PostgreSQL).
    /// </summary>
    public object? Prepared { get; set; }
}

/// <summary>An event that failed validation, kept with its reasons (lenient mode) so nothing is silently dropped.</summary>
internal sealed record RejectedEvent(string Source, int Index, IReadOnlyList<EventError> Errors, string Raw);

internal sealed record EventError(int Index, string Field, string Message);

/// <summary>
/// Turns one Segment call (a JSON object) into the stored form: the original fields, plus
/// messageId (generated when missing), receivedAt (server time), timestamp by <see cref="EventTime"/> (the client's time
/// corrected for clock skew, clamped to a sane range), originalTimestamp and sentAt as the client sent them, and the
/// batch's context/integrations merged in.
/// </summary>
internal sealed class EventNormaliser(TrackingEventValidator validator, TimeSpan maxFutureSkew)
{
    public EventNormaliser(TrackingEventValidator validator) : this(validator, CollectionOptions.DefaultMaxFutureSkew) { }

    /// <summary>Events whose corrected time fell outside [2000, receivedAt + MaxFutureSkew] and were stored at receivedAt.</summary>
    public long ClampedTimes;

    /// <summary>The top-level fields the normaliser reads; everything else is copied through as it came.</summary>
    private enum Field : byte
    {
        Other, Type, MessageId, Timestamp, OriginalTimestamp, ReceivedAt, SentAt, WriteKey, UserId, AnonymousId,
        PreviousId, GroupId, Event, Properties, Traits, Context, Integrations,
    }

    /// <summary>Fields the normaliser writes itself; the caller's values are read, checked and rewritten.</summary>
    private static bool IsRewritten(Field f) => f is Field.Type or Field.MessageId or Field.Timestamp or Field.OriginalTimestamp
        or Field.ReceivedAt or Field.SentAt or Field.WriteKey or Field.UserId or Field.AnonymousId;

    private static readonly Dictionary<string, Field> FieldNames = Enum.GetValues<Field>().Where(f => f != Field.Other)
        .ToDictionary(f => char.ToLowerInvariant(f.ToString()[0]) + f.ToString()[1..], StringComparer.Ordinal);

    // One writer and buffer per thread, reset for each event: the normaliser runs on request threads and never awaits.
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true }; // the shape below is fixed

    public bool TryNormalise(
        JsonElement item, int index, string? routeType, BatchEnvelope envelope, DateTimeOffset receivedAt,
        string source, out AcceptedEvent? accepted, out IReadOnlyList<EventError> errors)
    {
        accepted = null;
        var size = JsonMarshal.GetRawUtf8Value(item).Length;
        var e = Extract(item, routeType, size, out var hasContext, out var hasIntegrations);
        List<EventError>? failures = null;
        foreach (var (field, message) in e.ShapeErrors) (failures ??= []).Add(new EventError(index, field, message));
        if (HasLoneSurrogate(JsonMarshal.GetRawUtf8Value(item)) || (envelope.Context is { } bc && HasLoneSurrogate(JsonMarshal.GetRawUtf8Value(bc))))
            (failures ??= []).Add(new EventError(index, "event",
                "a string holds an escaped lone UTF-16 surrogate (e.g. \\ud800 without its pair), which is not text: nothing downstream could read it"));
        var result = validator.Validate(e);
        foreach (var f in result.Errors) (failures ??= []).Add(new EventError(index, ToJsonName(f.PropertyName), f.ErrorMessage));
        errors = failures ?? (IReadOnlyList<EventError>)[];
        if (failures is not null) return false;

        var messageId = string.IsNullOrEmpty(e.MessageId) ? Guid.NewGuid().ToString() : e.MessageId!;
        var sentAt = e.SentAt ?? envelope.SentAt;
        var sentAtRaw = e.SentAtRaw.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null) ? e.SentAtRaw : envelope.SentAtRaw;
        var time = EventTime.Resolve(e.ClientTime, sentAt, receivedAt, maxFutureSkew);
        if (time.Clamped) Interlocked.Increment(ref ClampedTimes);

        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var w = t_writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        w.Reset(buffer);
        w.WriteStartObject();
        w.WriteString("type"u8, e.Type);
        w.WriteString("messageId"u8, messageId);
        if (!string.IsNullOrEmpty(e.UserId)) w.WriteString("userId"u8, e.UserId);
        if (!string.IsNullOrEmpty(e.AnonymousId)) w.WriteString("anonymousId"u8, e.AnonymousId);
        w.WriteString("receivedAt"u8, receivedAt.UtcDateTime);
        w.WriteString("timestamp"u8, time.Timestamp.UtcDateTime);
        // the client's own values, as it sent them: its originalTimestamp, else the timestamp it set
        var original = e.OriginalTimestampRaw.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null) ? e.OriginalTimestampRaw : e.TimestampRaw;
        if (original.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null)) WriteRaw(w, "originalTimestamp"u8, original);
        if (sentAtRaw is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } sa) WriteRaw(w, "sentAt"u8, sa);
        foreach (var p in item.EnumerateObject())
        {
            var field = FieldOf(p);
            if (IsRewritten(field)) continue;
            if (field == Field.Context && envelope.Context is { } ctx) { WriteMerged(w, "context"u8, ctx, p.Value); continue; }
            if (field == Field.Integrations && envelope.Integrations is { } integ) { WriteMerged(w, "integrations"u8, integ, p.Value); continue; }
            WriteVerbatim(w, p);
        }
        if (envelope.Context is { } c && !hasContext) { w.WritePropertyName("context"u8); w.WriteRawValue(JsonMarshal.GetRawUtf8Value(c), skipInputValidation: true); }
        if (envelope.Integrations is { } i && !hasIntegrations) { w.WritePropertyName("integrations"u8); w.WriteRawValue(JsonMarshal.GetRawUtf8Value(i), skipInputValidation: true); }
        w.WriteEndObject();
        w.Flush();
        accepted = new AcceptedEvent(source, messageId, buffer.WrittenSpan.ToArray());
        return true;
    }

    /// <summary>
    /// True when a string or name of <paramref name="json"/> (valid JSON) escapes a UTF-16 surrogate without its pair. Such a
    /// string is valid JSON but not text: every later reader (the processor, exports) would throw on it. The full check runs
    /// only when the bytes hold a "\u" escape followed by a d, which real payloads almost never do.
    /// </summary>
    internal static bool HasLoneSurrogate(ReadOnlySpan<byte> json)
    {
        var rest = json;
        while (true)
        {
            var i = rest.IndexOf("\\u"u8);
            if (i < 0) return false;
            if (i + 2 < rest.Length && (rest[i + 2] | 0x20) == 'd') break;
            rest = rest[(i + 2)..];
        }
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped) continue;
                try { reader.GetString(); }
                catch (InvalidOperationException) { return true; }
            }
        }
        catch (JsonException)
        {
            return false; // already parsed once: cannot happen; the caller's checks decide
        }
        return false;
    }

    /// <summary>
    /// Copies a property as it came: its value's bytes are already valid JSON (the request was parsed with duplicate keys
    /// refused), so they are not re-serialised token by token (a fifth of the normaliser's time when they were).
    /// </summary>
    private static void WriteVerbatim(Utf8JsonWriter w, JsonProperty p)
    {
        var name = JsonMarshal.GetRawUtf8PropertyName(p);
        if (name.IndexOf((byte)'\\') >= 0) { p.WriteTo(w); return; } // an escaped name: let the writer decode and re-escape it
        w.WritePropertyName(name);
        w.WriteRawValue(JsonMarshal.GetRawUtf8Value(p.Value), skipInputValidation: true);
    }

    private static void WriteRaw(Utf8JsonWriter w, ReadOnlySpan<byte> name, JsonElement value)
    {
        w.WritePropertyName(name);
        w.WriteRawValue(JsonMarshal.GetRawUtf8Value(value), skipInputValidation: true);
    }

    /// <summary>Batch-level object first, then the item's own keys, which win.</summary>
    private static void WriteMerged(Utf8JsonWriter w, ReadOnlySpan<byte> name, JsonElement outer, JsonElement inner)
    {
        w.WritePropertyName(name);
        if (inner.ValueKind != JsonValueKind.Object || outer.ValueKind != JsonValueKind.Object)
        {
            w.WriteRawValue(JsonMarshal.GetRawUtf8Value(inner), skipInputValidation: true);
            return;
        }
        w.WriteStartObject();
        foreach (var p in outer.EnumerateObject())
            if (!inner.TryGetProperty(p.Name, out _)) WriteVerbatim(w, p);
        foreach (var p in inner.EnumerateObject()) WriteVerbatim(w, p);
        w.WriteEndObject();
    }

    private static Field FieldOf(JsonProperty p)
    {
        var raw = JsonMarshal.GetRawUtf8PropertyName(p);
        if (raw.IndexOf((byte)'\\') >= 0) return FieldNames.GetValueOrDefault(p.Name); // escaped: compare the decoded name
        return raw.Length switch
        {
            4 when raw.SequenceEqual("type"u8) => Field.Type,
            5 when raw.SequenceEqual("event"u8) => Field.Event,
            6 when raw.SequenceEqual("userId"u8) => Field.UserId,
            6 when raw.SequenceEqual("sentAt"u8) => Field.SentAt,
            6 when raw.SequenceEqual("traits"u8) => Field.Traits,
            7 when raw.SequenceEqual("groupId"u8) => Field.GroupId,
            7 when raw.SequenceEqual("context"u8) => Field.Context,
            8 when raw.SequenceEqual("writeKey"u8) => Field.WriteKey,
            9 when raw.SequenceEqual("messageId"u8) => Field.MessageId,
            9 when raw.SequenceEqual("timestamp"u8) => Field.Timestamp,
            10 when raw.SequenceEqual("receivedAt"u8) => Field.ReceivedAt,
            10 when raw.SequenceEqual("previousId"u8) => Field.PreviousId,
            10 when raw.SequenceEqual("properties"u8) => Field.Properties,
            11 when raw.SequenceEqual("anonymousId"u8) => Field.AnonymousId,
            12 when raw.SequenceEqual("integrations"u8) => Field.Integrations,
            17 when raw.SequenceEqual("originalTimestamp"u8) => Field.OriginalTimestamp,
            _ => Field.Other,
        };
    }

    /// <summary>One pass over the call's top-level fields (no name lookups, no name strings).</summary>
    private static TrackingEvent Extract(JsonElement item, string? routeType, int size, out bool hasContext, out bool hasIntegrations)
    {
        hasContext = hasIntegrations = false;
        JsonElement type = default, userId = default, anonymousId = default, previousId = default, groupId = default, messageId = default,
            name = default, timestamp = default, originalTimestamp = default, sentAt = default, properties = default, traits = default, context = default;
        foreach (var p in item.EnumerateObject())
        {
            switch (FieldOf(p))
            {
                case Field.Type: type = p.Value; break;
                case Field.UserId: userId = p.Value; break;
                case Field.AnonymousId: anonymousId = p.Value; break;
                case Field.PreviousId: previousId = p.Value; break;
                case Field.GroupId: groupId = p.Value; break;
                case Field.MessageId: messageId = p.Value; break;
                case Field.Event: name = p.Value; break;
                case Field.Timestamp: timestamp = p.Value; break;
                case Field.OriginalTimestamp: originalTimestamp = p.Value; break;
                case Field.SentAt: sentAt = p.Value; break;
                case Field.Properties: properties = p.Value; break;
                case Field.Traits: traits = p.Value; break;
                case Field.Context: context = p.Value; hasContext = true; break;
                case Field.Integrations: hasIntegrations = true; break;
            }
        }
        var e = new TrackingEvent { Type = routeType ?? (type.ValueKind == JsonValueKind.String ? type.GetString() ?? "" : ""), SizeBytes = size };
        if (routeType is null && type.ValueKind != JsonValueKind.String) e.ShapeErrors.Add(("type", "type is required in a batch item and must be a string"));
        e.UserId = Id(userId, "userId", e);
        e.AnonymousId = Id(anonymousId, "anonymousId", e);
        e.PreviousId = Id(previousId, "previousId", e);
        e.GroupId = Id(groupId, "groupId", e);
        e.MessageId = Str(messageId, "messageId", e);
        e.Event = Str(name, "event", e);
        // the client's time: timestamp, else originalTimestamp; unreadable, the event is a dead letter naming the field
        e.TimestampRaw = timestamp;
        e.OriginalTimestampRaw = originalTimestamp;
        e.ClientTime = timestamp.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null)
            ? Date(timestamp, "timestamp", e)
            : Date(originalTimestamp, "originalTimestamp", e);
        // an unreadable sentAt only costs the skew correction (the batch's, if readable, is used instead); kept as sent
        e.SentAtRaw = sentAt;
        if (sentAt.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null) && EventTime.TryParse(sentAt, out var sent)) e.SentAt = sent;
        e.PropertyCount = Count(properties, "properties", e);
        e.TraitCount = Math.Max(Count(traits, "traits", e), ContextTraits(context));
        return e;
    }

    /// <summary>Segment ids are strings; numbers are accepted and kept as their JSON text (SDKs send numeric ids).</summary>
    private static string? Id(JsonElement v, string name, TrackingEvent e)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null: return null;
            case JsonValueKind.String: return v.GetString();
            case JsonValueKind.Number: return v.GetRawText();
            default: e.ShapeErrors.Add((name, $"{name} must be a string (was {v.ValueKind.ToString().ToLowerInvariant()})")); return null;
        }
    }

    private static string? Str(JsonElement v, string name, TrackingEvent e)
    {
        if (v.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        e.ShapeErrors.Add((name, $"{name} must be a string (was {v.ValueKind.ToString().ToLowerInvariant()})"));
        return null;
    }

    private static DateTimeOffset? Date(JsonElement v, string name, TrackingEvent e)
    {
        if (v.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return null;
        if (EventTime.TryParse(v, out var d)) return d;
        e.ShapeErrors.Add((name, $"{name} must be an ISO-8601 date-time, e.g. 2024-05-01T10:00:00.000Z, or Unix epoch seconds or milliseconds"));
        return null;
    }

    private static int Count(JsonElement v, string name, TrackingEvent e)
    {
        if (v.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return 0;
        if (v.ValueKind != JsonValueKind.Object)
        {
            e.ShapeErrors.Add((name, $"{name} must be an object (was {v.ValueKind.ToString().ToLowerInvariant()})"));
            return 0;
        }
        var n = 0;
        foreach (var _ in v.EnumerateObject()) n++;
        return n;
    }

    private static int ContextTraits(JsonElement c)
    {
        if (c.ValueKind != JsonValueKind.Object) return 0;
        if (!c.TryGetProperty("traits"u8, out var t) || t.ValueKind != JsonValueKind.Object) return 0;
        var n = 0;
        foreach (var _ in t.EnumerateObject()) n++;
        return n;
    }

    private static string ToJsonName(string property) =>
        property.Length == 0 ? property : char.ToLowerInvariant(property[0]) + property[1..];
}

/// <summary>What a /v1/batch request carries around its items (absent for single calls).</summary>
internal readonly record struct BatchEnvelope(JsonElement? Context, JsonElement? Integrations, DateTimeOffset? SentAt, JsonElement? SentAtRaw);
