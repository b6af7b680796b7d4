using System.Text.Json;

namespace Cdp.Modules.Collection.TrackingPlans;

/// <summary>
/// The ingest path's shortcut past the schema library for the calls that are valid, which are nearly all of them: a schema
/// written only with the common keywords (type, enum, const, properties, required, additionalProperties, items, the
/// numeric and length bounds, and annotations) is compiled to this checker, which answers "valid" only when the call
/// certainly is, reading the <see cref="JsonElement"/> as it came. Anything else ("not valid", or a value it cannot be
/// sure of, such as a number beyond decimal's range) goes to JsonSchema.Net, which stays the authority on every violation
/// and on every schema using other keywords (format, pattern, $ref, allOf...). The library converts each call to its own
/// node tree first: about 10 µs a call on the benchmark's machine, most of a /v1/batch event's budget.
/// </summary>
internal sealed class QuickAccept
{
    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
        { "$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly" };

    private readonly bool? _always; // a boolean schema, or {} (true)
    private readonly JsonValueKind[]? _types;
    private readonly bool _integer;
    private readonly JsonElement[]? _enum;
    private readonly JsonElement? _const;
    private readonly Dictionary<string, QuickAccept>? _properties;
    private readonly string[] _required = [];
    private readonly QuickAccept? _additional;
    private readonly QuickAccept? _items;
    private readonly decimal? _minimum, _maximum, _exclusiveMinimum, _exclusiveMaximum;
    private readonly int? _minLength, _maxLength, _minItems, _maxItems, _minProperties, _maxProperties;

    private QuickAccept(bool always) => _always = always;

    private QuickAccept(JsonElement schema)
    {
        foreach (var k in schema.EnumerateObject())
        {
            var v = k.Value;
            switch (k.Name)
            {
                case "type":
                    var names = v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(t => t.GetString()!).ToArray() : [v.GetString()!];
                    _integer = names.Contains("integer") && !names.Contains("number");
                    _types = names.SelectMany(Kinds).Distinct().ToArray();
                    break;
                case "enum": _enum = v.EnumerateArray().Select(e => e.Clone()).ToArray(); break;
                case "const": _const = v.Clone(); break;
                case "properties":
                    _properties = new Dictionary<string, QuickAccept>(StringComparer.Ordinal);
                    foreach (var p in v.EnumerateObject()) _properties[p.Name] = Compile(p.Value) ?? throw new NotSupportedException();
                    break;
                case "required": _required = v.EnumerateArray().Select(r => r.GetString()!).ToArray(); break;
                case "additionalProperties": _additional = Compile(v) ?? throw new NotSupportedException(); break;
                case "items":
                    if (v.ValueKind == JsonValueKind.Array) throw new NotSupportedException(); // a tuple (older drafts)
                    _items = Compile(v) ?? throw new NotSupportedException();
                    break;
                case "minimum": _minimum = v.GetDecimal(); break;
                case "maximum": _maximum = v.GetDecimal(); break;
                case "exclusiveMinimum": _exclusiveMinimum = v.GetDecimal(); break;
                case "exclusiveMaximum": _exclusiveMaximum = v.GetDecimal(); break;
                case "minLength": _minLength = v.GetInt32(); break;
                case "maxLength": _maxLength = v.GetInt32(); break;
                case "minItems": _minItems = v.GetInt32(); break;
                case "maxItems": _maxItems = v.GetInt32(); break;
                case "minProperties": _minProperties = v.GetInt32(); break;
                case "maxProperties": _maxProperties = v.GetInt32(); break;
                default:
                    if (!Annotations.Contains(k.Name)) throw new NotSupportedException();
                    break;
            }
        }
    }

    /// <summary>The checker of <paramref name="schema"/>, or null when it uses a keyword (or a form of one) this checker does not take.</summary>
    public static QuickAccept? Compile(JsonElement schema)
    {
        try
        {
            return schema.ValueKind switch
            {
                JsonValueKind.True => new QuickAccept(true),
                JsonValueKind.False => new QuickAccept(false),
                JsonValueKind.Object => new QuickAccept(schema),
                _ => null,
            };
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or FormatException or OverflowException or KeyNotFoundException)
        {
            return null;
        }
    }

    private static IEnumerable<JsonValueKind> Kinds(string type) => type switch
    {
        "object" => [JsonValueKind.Object],
        "array" => [JsonValueKind.Array],
        "string" => [JsonValueKind.String],
        "number" or "integer" => [JsonValueKind.Number],
        "boolean" => [JsonValueKind.True, JsonValueKind.False],
        "null" => [JsonValueKind.Null],
        _ => throw new NotSupportedException(),
    };

    /// <summary>True only when <paramref name="value"/> certainly satisfies the schema; false = not valid, or not sure.</summary>
    public bool Accepts(JsonElement value)
    {
        if (_always is { } always) return always;
        var kind = value.ValueKind;
        if (_types is not null && Array.IndexOf(_types, kind) < 0) return false;
        if (_enum is not null && !_enum.Any(e => SameValue(e, value))) return false;
        if (_const is { } c && !SameValue(c, value)) return false;
        switch (kind)
        {
            case JsonValueKind.Number:
                if (_integer || _minimum is not null || _maximum is not null || _exclusiveMinimum is not null || _exclusiveMaximum is not null)
                {
                    if (!value.TryGetDecimal(out var d)) return false; // beyond decimal: not sure
                    if (_integer && decimal.Truncate(d) != d) return false;
                    if (d < _minimum || d > _maximum || d <= _exclusiveMinimum || d >= _exclusiveMaximum) return false;
                }
                return true;
            case JsonValueKind.String:
                if (_minLength is not null || _maxLength is not null)
                {
                    var length = value.GetString()!.EnumerateRunes().Count(); // code points, as JSON Schema counts
                    if (length < _minLength || length > _maxLength) return false;
                }
                return true;
            case JsonValueKind.Array:
                if (_minItems is not null || _maxItems is not null)
                {
                    var n = value.GetArrayLength();
                    if (n < _minItems || n > _maxItems) return false;
                }
                if (_items is not null)
                    foreach (var item in value.EnumerateArray())
                        if (!_items.Accepts(item)) return false;
                return true;
            case JsonValueKind.Object:
                foreach (var r in _required)
                    if (!value.TryGetProperty(r, out _)) return false;
                var count = 0;
                foreach (var p in value.EnumerateObject())
                {
                    count++;
                    if (_properties is not null && _properties.TryGetValue(p.Name, out var sub))
                    {
                        if (!sub.Accepts(p.Value)) return false;
                    }
                    else if (_additional is not null && !_additional.Accepts(p.Value))
                    {
                        return false;
                    }
                }
                if (count < _minProperties || count > _maxProperties) return false;
                return true;
            default:
                return true;
        }
    }

    /// <summary>JSON equality as JSON Schema's enum and const mean it (1 equals 1.0; objects regardless of order); false when not sure.</summary>
    private static bool SameValue(JsonElement a, JsonElement b)
    {
        if (a.ValueKind == JsonValueKind.Number && b.ValueKind == JsonValueKind.Number)
            return a.TryGetDecimal(out var x) && b.TryGetDecimal(out var y) && x == y;
        if (a.ValueKind != b.ValueKind) return false;
        switch (a.ValueKind)
        {
            case JsonValueKind.String: return a.ValueEquals(b.GetString());
            case JsonValueKind.Array:
                if (a.GetArrayLength() != b.GetArrayLength()) return false;
                using (var ea = a.EnumerateArray().GetEnumerator())
                using (var eb = b.EnumerateArray().GetEnumerator())
                    while (ea.MoveNext() && eb.MoveNext())
                        if (!SameValue(ea.Current, eb.Current)) return false;
                return true;
            case JsonValueKind.Object:
                var n = 0;
                foreach (var p in a.EnumerateObject())
                {
                    n++;
                    if (!b.TryGetProperty(p.Name, out var other) || !SameValue(p.Value, other)) return false;
                }
                return n == b.EnumerateObject().Count();
            default:
                return true; // true, false, null
        }
    }
}
