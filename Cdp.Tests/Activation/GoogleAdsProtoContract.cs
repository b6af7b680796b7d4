using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cdp.Tests.Activation;

/// <summary>
/// Google publishes the Google Ads API as protobuf files (no OpenAPI document): the ones Cdp's Customer Match calls use are
/// vendored in TestData/google-ads-protos (see its README). This reads their messages, enums, oneofs and the REST mapping of
/// each method (google.api.http post path, body "*") and checks every JSON request a fake receives the way Google's REST
/// transcoding reads it: the path names a method, every body property is a field of the request message under its JSON name
/// (lowerCamelCase), of the field's type (message -> object, enum -> one of its names other than UNKNOWN, string, bool,
/// 64-bit integers as string or number, repeated -> array), no two members of one oneof are set, and fields bound by the path
/// are not repeated in the body. A violation names the method and the field path.
/// </summary>
public sealed partial class GoogleAdsProtoContract
{
    private sealed record Field(string Name, string Type, bool Repeated, string? Oneof);

    private readonly Dictionary<string, Dictionary<string, Field>> _messages = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _enums = new(StringComparer.Ordinal);
    private readonly List<(string Rpc, Regex Path, string Input, HashSet<string> PathFields)> _methods = [];

    public static GoogleAdsProtoContract V25 { get; } = new(Path.Combine(AppContext.BaseDirectory, "TestData", "google-ads-protos"));

    private GoogleAdsProtoContract(string folder)
    {
        foreach (var file in Directory.GetFiles(folder, "*.proto")) Read(File.ReadAllLines(file));
    }

    /// <summary>Statements ending at '{', '}' or ';' outside quotes (a REST path holds braces), comments dropped, lines joined.</summary>
    private static IEnumerable<(string Text, char End)> Statements(string[] lines)
    {
        var text = string.Join(" ", lines.Select(StripComment));
        var piece = new System.Text.StringBuilder();
        var quoted = false;
        foreach (var c in text)
        {
            if (c == '"') quoted = !quoted;
            if (!quoted && c is '{' or '}' or ';')
            {
                yield return (Regex.Replace(piece.ToString(), @"\s+\.(?=\w)", ".").Trim(), c); // a type written over two lines
                piece.Clear();
            }
            else piece.Append(c);
        }
    }

    /// <summary>A line without its // comment; a "//" inside quotes (a URL) is kept.</summary>
    private static string StripComment(string line)
    {
        var quoted = false;
        for (var i = 0; i < line.Length - 1; i++)
        {
            if (line[i] == '"') quoted = !quoted;
            else if (!quoted && line[i] == '/' && line[i + 1] == '/') return line[..i];
        }
        return line;
    }

    private void Read(string[] lines)
    {
        var scopes = new Stack<(string Kind, string Name)>();
        string? rpc = null, input = null;
        foreach (var (line, end) in Statements(lines))
        {
            if (end == '}')
            {
                if (scopes.Count > 0 && scopes.Peek().Kind == "option" && rpc is not null && HttpPost().Match(line) is { Success: true } post)
                {
                    var pathFields = new HashSet<string>(StringComparer.Ordinal);
                    var pattern = Binding().Replace(Regex.Escape(post.Groups[1].Value).Replace("\\{", "{"), m =>
                    {
                        pathFields.Add(m.Groups[1].Value);
                        return m.Groups[2].Success ? m.Groups[2].Value.Replace("\\*", "[^/]+") : "[^/]+";
                    });
                    _methods.Add((rpc, new Regex("^" + pattern + "$"), input!, pathFields));
                }
                if (scopes.Count > 0) scopes.Pop();
                continue;
            }
            var (kind, name) = scopes.Count > 0 ? scopes.Peek() : ("", "");
            if (kind == "enum" && EnumValue().Match(line) is { Success: true } v) _enums[name].Add(v.Groups[1].Value);
            else if (kind is "message" or "oneof" && FieldLine().Match(line) is { Success: true } f)
            {
                var message = kind == "message" ? name : scopes.ElementAt(1).Name;
                var type = f.Groups[2].Value.Split('.')[^1];
                _messages[message][f.Groups[3].Value] = new Field(f.Groups[3].Value, type, f.Groups[1].Value.Trim() == "repeated", kind == "oneof" ? name : null);
            }
            if (end != '{') continue;
            if (Opening().Match(line) is { Success: true } open)
            {
                scopes.Push((open.Groups[1].Value, open.Groups[2].Value));
                if (open.Groups[1].Value == "message") _messages.TryAdd(open.Groups[2].Value, new Dictionary<string, Field>(StringComparer.Ordinal));
                if (open.Groups[1].Value == "enum") _enums.TryAdd(open.Groups[2].Value, new HashSet<string>(StringComparer.Ordinal));
            }
            else if (Rpc().Match(line) is { Success: true } r)
            {
                rpc = r.Groups[1].Value;
                input = r.Groups[2].Value;
                scopes.Push(("rpc", rpc));
            }
            else scopes.Push((line.StartsWith("option (google.api.http)", StringComparison.Ordinal) ? "option" : "other", ""));
        }
    }

    /// <summary>The rules of Google's protos the request breaks (empty: none). Requests outside /v{n}/ (the OAuth endpoint) are not the Ads API's.</summary>
    public IReadOnlyList<string> Check(FakeRequest r)
    {
        if (!ApiPath().IsMatch(r.Path)) return [];
        var what = $"{r.Method} {r.Path}";
        var method = _methods.FirstOrDefault(m => m.Path.IsMatch(r.Path));
        if (method.Rpc is null) return [$"{what}: no method of the vendored protos has this REST path"];
        if (r.Method != "POST") return [$"{what}: {method.Rpc} is POST"];
        var violations = new List<string>();
        if (r.Json is not JsonObject body) return [$"{what}: the body must be a JSON object ({method.Input})"];
        foreach (var bound in method.PathFields)
            if (body.ContainsKey(Json(bound))) violations.Add($"{what}: {Json(bound)} is bound by the path and must not be in the body");
        CheckMessage(body, method.Input, $"{what} {method.Input}", violations);
        return violations;
    }

    private void CheckMessage(JsonObject value, string message, string at, List<string> violations)
    {
        if (!_messages.TryGetValue(message, out var fields)) { violations.Add($"{at}: message {message} is not in the vendored protos"); return; }
        var byJson = fields.Values.ToDictionary(f => Json(f.Name), StringComparer.Ordinal);
        var oneofs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in value)
        {
            if (!byJson.TryGetValue(name, out var field)) { violations.Add($"{at}.{name}: no such field in {message}"); continue; }
            if (field.Oneof is { } oneof && !oneofs.TryAdd(oneof, name)) violations.Add($"{at}.{name}: oneof {oneof} already has {oneofs[oneof]}");
            if (field.Repeated)
            {
                if (node is not JsonArray items) { violations.Add($"{at}.{name}: repeated {field.Type} must be an array"); continue; }
                for (var i = 0; i < items.Count; i++) CheckValue(items[i], field.Type, $"{at}.{name}[{i}]", violations);
            }
            else CheckValue(node, field.Type, $"{at}.{name}", violations);
        }
    }

    private void CheckValue(JsonNode? node, string type, string at, List<string> violations)
    {
        var kind = node?.GetValueKind();
        switch (type)
        {
            case "string":
                if (kind != System.Text.Json.JsonValueKind.String) violations.Add($"{at}: must be a string");
                return;
            case "bool":
                if (kind is not (System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False)) violations.Add($"{at}: must be true or false");
                return;
            case "int64" or "int32" or "double" or "float" or "uint64" or "uint32":
                if (kind == System.Text.Json.JsonValueKind.Number) return;
                if (kind == System.Text.Json.JsonValueKind.String && double.TryParse(node!.GetValue<string>(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)) return;
                violations.Add($"{at}: must be a number ({type})");
                return;
        }
        if (_enums.TryGetValue(type, out var names))
        {
            if (kind != System.Text.Json.JsonValueKind.String || !names.Contains(node!.GetValue<string>()) || node.GetValue<string>() == "UNKNOWN")
                violations.Add($"{at}: must be one of {type}: {string.Join(", ", names.Where(n => n != "UNKNOWN"))}");
            return;
        }
        if (node is JsonObject o) CheckMessage(o, type, at, violations);
        else violations.Add($"{at}: must be an object ({type})");
    }

    /// <summary>proto3 JSON names: lowerCamelCase of the field name (hashed_email -> hashedEmail).</summary>
    public static string Json(string field) => Underscore().Replace(field, m => m.Groups[1].Value.ToUpperInvariant());

    /// <summary>Every field name (JSON form) of a message of the vendored protos: what tests compare Cdp's own field names with.</summary>
    public IReadOnlyCollection<string> FieldsOf(string message) => _messages[message].Keys.Select(Json).ToList();

    public IReadOnlyCollection<string> ValuesOf(string @enum) => _enums[@enum];

    [GeneratedRegex(@"^(message|enum|oneof|service)\s+(\w+)$")]
    private static partial Regex Opening();

    [GeneratedRegex(@"^rpc\s+(\w+)\(([\w.]+)\)")]
    private static partial Regex Rpc();

    [GeneratedRegex("^post:\\s*\"([^\"]+)\"")]
    private static partial Regex HttpPost();

    [GeneratedRegex(@"\{(\w+)(?:=([^}]+))?}")]
    private static partial Regex Binding();

    [GeneratedRegex(@"^([A-Z][A-Z0-9_]*)\s*=\s*\d+")]
    private static partial Regex EnumValue();

    [GeneratedRegex(@"^(optional\s+|repeated\s+)?([\w.]+)\s+(\w+)\s*=\s*\d+")]
    private static partial Regex FieldLine();

    [GeneratedRegex("_([a-z0-9])")]
    private static partial Regex Underscore();

    [GeneratedRegex(@"^/v\d+/")]
    private static partial Regex ApiPath();
}
