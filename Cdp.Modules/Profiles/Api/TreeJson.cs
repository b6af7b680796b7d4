using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Profiles.Projection;
using JsonSerializer = System.Text.Json.JsonSerializer;

namespace Cdp.Modules.Profiles.Api;

/// <summary>Profile values as plain JSON: numbers as numbers, dates as ISO-8601 strings, bytes as base64.</summary>
internal static class TreeJson
{
    public static JsonNode? ToNode(TreeValue v) => v.Type switch
    {
        TreeType.Null or TreeType.MinValue or TreeType.MaxValue => null,
        TreeType.Int32 => JsonValue.Create(v.AsInt32),
        TreeType.Int64 => JsonValue.Create(v.AsInt64),
        TreeType.Double => double.IsFinite(v.AsDouble) ? JsonValue.Create(v.AsDouble) : null,
        TreeType.Decimal => JsonValue.Create(v.AsDecimal),
        TreeType.String => JsonValue.Create(v.AsString),
        TreeType.Boolean => JsonValue.Create(v.AsBoolean),
        TreeType.DateTime => JsonValue.Create(v.AsDateTime.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)),
        TreeType.Binary => JsonValue.Create(Convert.ToBase64String(v.AsBinary)),
        TreeType.Array => new JsonArray(v.AsArray.Select(ToNode).ToArray()),
        TreeType.Document => ToObject(v.AsDocument),
        _ => JsonValue.Create(v.ToString()),
    };

    public static JsonObject ToObject(TreeDocument d)
    {
        var o = new JsonObject();
        foreach (var (k, v) in d) o[k] = ToNode(v);
        return o;
    }

    public static JsonElement ToElement(TreeDocument d) => JsonSerializer.SerializeToElement(ToObject(d));
}
