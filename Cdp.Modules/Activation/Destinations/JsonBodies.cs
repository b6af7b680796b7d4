using System.Buffers;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Activation.Engine;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>Small helpers to write vendor payloads with Utf8JsonWriter (no reflection, no intermediate objects).</summary>
internal static class JsonBodies
{
    public static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Mapped fields as an object; null values are left out (a destination keeps what it has).</summary>
    public static void Fields(Utf8JsonWriter w, string name, OutgoingMember m, Func<string, bool>? include = null)
    {
        w.WriteStartObject(name);
        foreach (var (field, value) in m.Fields)
        {
            if (value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined || (include is not null && !include(field))) continue;
            w.WritePropertyName(field);
            value.WriteTo(w);
        }
        w.WriteEndObject();
    }

    public static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    public static StringContent Content(string json) => new(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));

    public static async Task<JsonElement> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using (response)
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (bytes.Length == 0) return default;
            using var doc = JsonDocument.Parse(bytes);
            return doc.RootElement.Clone();
        }
    }

    public static IEnumerable<JsonElement> Array(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var a) && a.ValueKind == JsonValueKind.Array ? a.EnumerateArray() : [];

    public static string? String(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText() : null;
}
