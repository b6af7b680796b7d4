using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiteDB;
using JsonSerializer = System.Text.Json.JsonSerializer;

namespace Cdp.Modules.Profiles.Api;

/// <summary>BSON values as plain JSON (numbers as numbers, dates as ISO-8601 strings), not LiteDB's extended JSON.</summary>
internal static class BsonJson
{
    public static JsonNode? ToNode(BsonValue v) => v.Type switch
    {
        BsonType.Null or BsonType.MinValue or BsonType.MaxValue => null,
        BsonType.Int32 => JsonValue.Create(v.AsInt32),
        BsonType.Int64 => JsonValue.Create(v.AsInt64),
        BsonType.Double => double.IsFinite(v.AsDouble) ? JsonValue.Create(v.AsDouble) : null,
        BsonType.Decimal => JsonValue.Create(v.AsDecimal),
        BsonType.String => JsonValue.Create(v.AsString),
        BsonType.Boolean => JsonValue.Create(v.AsBoolean),
        BsonType.DateTime => JsonValue.Create(v.AsDateTime.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)),
        BsonType.Binary => JsonValue.Create(Convert.ToBase64String(v.AsBinary)),
        BsonType.Array => new JsonArray(v.AsArray.Select(ToNode).ToArray()),
        BsonType.Document => ToObject(v.AsDocument),
        _ => JsonValue.Create(v.ToString()),
    };

    public static JsonObject ToObject(BsonDocument d)
    {
        var o = new JsonObject();
        foreach (var (k, v) in d) o[k] = ToNode(v);
        return o;
    }

    public static JsonElement ToElement(BsonDocument d) => JsonSerializer.SerializeToElement(ToObject(d));
}
