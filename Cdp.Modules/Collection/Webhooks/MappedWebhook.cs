using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;

namespace Cdp.Modules.Collection.Webhooks;

/// <summary>
/// Any webhook, read by the source's <see cref="WebhookMapping"/>: each mapped value is a constant or a path
/// (<c>$.call.caller.phone</c>, <c>$.items[0].sku</c>, <c>$['field name']</c>); form-encoded bodies are read as one object of
/// their fields (<c>$.caller_phone</c>). An item the mapping cannot read (a required value missing or of the wrong JSON type)
/// is kept as a dead letter with the reason; the other items of the delivery are stored.
/// </summary>
internal static class MappedWebhook
{
    private static readonly HashSet<string> Types = new(StringComparer.Ordinal) { "track", "identify", "page", "screen", "group" };

    public static IEnumerable<(string Field, string Message)> CheckMapping(WebhookMapping m)
    {
        if (m.Items.Length > 0 && JsonPath.Parse(m.Items) is null) yield return ("Items", $"'{m.Items}' is not a path like $.events");
        if (!IsPath(m.Type) && !Types.Contains(m.Type)) yield return ("Type", "must be track, identify, page, screen or group, or a path like $.type");
        if (m.Type == "track" && m.Event.Length == 0) yield return ("Event", "a track mapping needs an event name: a constant (\"Call Completed\") or a path ($.event)");
        if (m.Identifiers.Count == 0) yield return ("Identifiers", "map at least one identifier (user_id, email, phone, anonymous_id, ...) to a path");
        foreach (var (name, path) in new[] { ("Event", m.Event), ("MessageId", m.MessageId), ("Timestamp", m.Timestamp) }
                     .Concat(m.Identifiers.Select(i => ("Identifiers:" + i.Key, i.Value)))
                     .Concat(m.Traits.Select(i => ("Traits:" + i.Key, i.Value)))
                     .Concat(m.Properties.Select(i => ("Properties:" + i.Key, i.Value))))
        {
            if (IsPath(path) && JsonPath.Parse(path) is null) yield return (name, $"'{path}' is not a path: use $.field, $.a.b, $.list[0] or $['a field']");
        }
        foreach (var (name, path) in new[] { ("MessageId", m.MessageId), ("Timestamp", m.Timestamp) }.Concat(m.Identifiers.Select(i => ("Identifiers:" + i.Key, i.Value))))
            if (path.Length > 0 && !IsPath(path)) yield return (name, $"must be a path (starting with $), not the constant '{path}'");
    }

    private static bool IsPath(string s) => s.StartsWith('$');

    /// <summary>A form body as one JSON object of its fields (a field sent twice becomes an array).</summary>
    public static JsonElement FormAsJson(ReadOnlySpan<byte> body)
    {
        var text = Encoding.UTF8.GetString(body);
        var form = QueryHelpers.ParseQuery(text.StartsWith('?') ? text : "?" + text);
        var o = new JsonObject();
        foreach (var (k, v) in form) o[k] = v.Count == 1 ? v[0] : new JsonArray(v.Select(x => (JsonNode?)x).ToArray());
        return JsonSerializer.SerializeToElement(o);
    }

    public static List<WebhookItem> Read(JsonElement root, WebhookMapping m)
    {
        var items = new List<WebhookItem>();
        var list = root;
        if (m.Items.Length > 0)
        {
            if (JsonPath.Parse(m.Items)!.Find(root) is not { ValueKind: JsonValueKind.Array } found)
            {
                items.Add(WebhookItem.Unreadable(root.GetRawText(), "Items", $"the body has no array at {m.Items}"));
                return items;
            }
            list = found;
        }
        if (list.ValueKind == JsonValueKind.Array) foreach (var e in list.EnumerateArray()) items.Add(ReadOne(e, m));
        else items.Add(ReadOne(list, m));
        return items;
    }

    private static WebhookItem ReadOne(JsonElement e, WebhookMapping m)
    {
        var raw = e.GetRawText();
        if (e.ValueKind != JsonValueKind.Object) return WebhookItem.Unreadable(raw, "item", "each item must be a JSON object (was " + Kind(e) + ")");
        string? error = null, field = null;
        string? Text(string name, string spec, bool required)
        {
            if (error is not null || spec.Length == 0) return null;
            if (!IsPath(spec)) return spec;
            var v = JsonPath.Parse(spec)!.Find(e);
            switch (v?.ValueKind)
            {
                case JsonValueKind.String when v.Value.GetString() is { Length: > 0 } s: return s;
                case JsonValueKind.Number: return v.Value.GetRawText();
                case null or JsonValueKind.Null or JsonValueKind.String:
                    if (required) (error, field) = ($"{name}: nothing at {spec}", name);
                    return null;
                default:
                    (error, field) = ($"{name}: {spec} holds {Kind(v.Value)}, not text or a number", name);
                    return null;
            }
        }

        var type = Text("Type", m.Type, required: true) ?? "track";
        if (error is null && !Types.Contains(type)) (error, field) = ($"Type: '{type}' is not track, identify, page, screen or group", "Type");
        var name = type == "track" ? Text("Event", m.Event, required: true) : Text("Event", m.Event, required: false);
        var vendorId = Text("MessageId", m.MessageId, required: false);
        JsonNode? time = null;
        if (error is null && m.Timestamp.Length > 0 && JsonPath.Parse(m.Timestamp)!.Find(e) is { } t && t.ValueKind != JsonValueKind.Null)
        {
            if (t.ValueKind is JsonValueKind.String or JsonValueKind.Number && Ingest.EventTime.TryParse(t, out _)) time = WebhookCall.Copy(t);
            else (error, field) = ($"Timestamp: {m.Timestamp} holds {Kind(t)} {Cut(t.GetRawText())}, not an ISO-8601 time or Unix seconds", "Timestamp");
        }
        var ids = new List<(string Type, string Value)>();
        foreach (var (idType, spec) in m.Identifiers)
            if (Text("Identifiers:" + idType, spec, required: false) is { } v) ids.Add((idType, v));
        if (error is null && ids.Count == 0)
            (error, field) = ($"Identifiers: none of {string.Join(", ", m.Identifiers.Values)} holds a value: the item cannot be tied to a person", "Identifiers");
        if (error is not null) return WebhookItem.Unreadable(raw, field!, error);

        var call = new WebhookCall
        {
            Type = type,
            Event = type is "track" or "page" or "screen" ? name : null,
            MessageId = vendorId is not null ? WebhookCall.MessageIdOf("", vendorId) : "mapped:" + WebhookCall.Hash(Encoding.UTF8.GetBytes(raw)),
            Timestamp = time,
        };
        if (type == "page" && name is not null) call.Properties["name"] = name;
        foreach (var (idType, value) in ids)
        {
            switch (idType)
            {
                case "user_id": call.UserId = value; break;
                case "anonymous_id": call.AnonymousId = value; break;
                default: call.Traits[idType] = value; break;
            }
        }
        if (call.UserId is null && call.AnonymousId is null)
        {
            // Segment needs userId or anonymousId: the first identifier found stands in (e.g. the caller's phone)
            var (t0, v0) = ids[0];
            call.AnonymousId = t0 == "email" ? v0.Trim().ToLowerInvariant() : v0;
        }
        foreach (var (trait, spec) in m.Traits) if (Value(e, spec) is { } v) call.Traits[trait] = v;
        foreach (var (prop, spec) in m.Properties) if (Value(e, spec) is { } v) call.Properties[prop] = v;
        return new WebhookItem(call, raw);
    }

    /// <summary>A trait or property: any JSON value at the path (or the constant); missing: left out.</summary>
    private static JsonNode? Value(JsonElement e, string spec) =>
        !IsPath(spec) ? JsonValue.Create(spec) : JsonPath.Parse(spec)!.Find(e) is { } v ? WebhookCall.Copy(v) : null;

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object", JsonValueKind.Array => "an array", JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Number => "a number", JsonValueKind.String => "text", _ => "null",
    };

    private static string Cut(string s) => s.Length <= 40 ? s : s[..40] + "…";
}

/// <summary>A small JSON path: $ then .name, ['name'] or [index] steps. No wildcards or filters (one value per path).</summary>
internal sealed class JsonPath
{
    private readonly List<object> _steps; // string: property name, int: array index

    private JsonPath(List<object> steps) => _steps = steps;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, JsonPath?> Cache = new(StringComparer.Ordinal);

    public static JsonPath? Parse(string path) => Cache.Count < 10_000 ? Cache.GetOrAdd(path, ParseNew) : ParseNew(path);

    private static JsonPath? ParseNew(string path)
    {
        if (!path.StartsWith('$')) return null;
        var steps = new List<object>();
        var i = 1;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var start = ++i;
                while (i < path.Length && path[i] is not ('.' or '[')) i++;
                if (i == start) return null;
                steps.Add(path[start..i]);
            }
            else if (path[i] == '[')
            {
                var close = path.IndexOf(']', i);
                if (close < 0) return null;
                var inner = path[(i + 1)..close];
                if (inner.Length >= 2 && inner[0] is '\'' or '"' && inner[^1] == inner[0]) steps.Add(inner[1..^1]);
                else if (int.TryParse(inner, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)) steps.Add(index);
                else return null;
                i = close + 1;
            }
            else return null;
        }
        return new JsonPath(steps);
    }

    /// <summary>The value at the path, or null when a step finds nothing (a missing name, an index past the end, a wrong kind).</summary>
    public JsonElement? Find(JsonElement root)
    {
        var current = root;
        foreach (var step in _steps)
        {
            if (step is string name)
            {
                if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current)) return null;
            }
            else
            {
                var index = (int)step;
                if (current.ValueKind != JsonValueKind.Array || index >= current.GetArrayLength()) return null;
                current = current[index];
            }
        }
        return current;
    }
}
