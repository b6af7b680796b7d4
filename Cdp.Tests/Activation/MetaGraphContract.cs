using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cdp.Tests.Activation;

/// <summary>
/// Meta's own Graph API specs (TestData/meta-graph-specs, from facebook/facebook-business-sdk-codegen; see its README): every
/// request the Meta destination sends must be an operation of the spec (node type and edge with that HTTP method), every body
/// parameter must be declared there, the required ones present, booleans JSON booleans, strings strings, and enum parameters
/// one of the spec's values. Meta publishes no OpenAPI document; this is what its SDKs are generated from.
/// </summary>
public static partial class MetaGraphContract
{
    private static readonly Dictionary<(string Node, string Method, string Edge), JsonArray> Operations = Load();
    private static readonly Dictionary<string, HashSet<string>> Enums = JsonNode.Parse(File.ReadAllText(SpecPath("enum_types.json")))!.AsArray()
        .ToDictionary(e => e!["name"]!.GetValue<string>(), e => e!["values"]!.AsArray().Select(v => v!.GetValue<string>()).ToHashSet(StringComparer.Ordinal));

    private static string SpecPath(string file) => Path.Combine(AppContext.BaseDirectory, "TestData", "meta-graph-specs", file);

    private static Dictionary<(string, string, string), JsonArray> Load()
    {
        var result = new Dictionary<(string, string, string), JsonArray>();
        foreach (var node in new[] { "AdAccount", "CustomAudience" })
            foreach (var api in JsonNode.Parse(File.ReadAllText(SpecPath(node + ".json")))!["apis"]!.AsArray())
                result[(node, api!["method"]!.GetValue<string>(), api["endpoint"]?.GetValue<string>() ?? "")] = api["params"]?.AsArray() ?? [];
        return result;
    }

    [GeneratedRegex("^/v\\d+\\.\\d+/(?<node>act_\\d+|\\d+)/(?<edge>[a-z_]+)$")]
    private static partial Regex GraphPath();

    /// <summary>The rules of Meta's spec the request breaks (empty: none).</summary>
    public static IReadOnlyList<string> Check(FakeRequest r)
    {
        var what = $"{r.Method} {r.Path}";
        if (GraphPath().Match(r.Path) is not { Success: true } m) return [$"{what}: not a Graph API path /<version>/<node id>/<edge>"];
        var node = m.Groups["node"].Value.StartsWith("act_", StringComparison.Ordinal) ? "AdAccount" : "CustomAudience";
        if (!Operations.TryGetValue((node, r.Method, m.Groups["edge"].Value), out var parameters))
            return [$"{what}: {r.Method} {m.Groups["edge"].Value} is not an operation of {node} in Meta's spec"];
        var violations = new List<string>();
        if (r.Query.Contains("access_token", StringComparison.Ordinal)) violations.Add($"{what}: the access token must not travel in the URL");
        if (r.Json is not JsonObject body) return [.. violations, $"{what}: the body is not a JSON object"];
        var declared = parameters.ToDictionary(p => p!["name"]!.GetValue<string>(), p => p!.AsObject());
        foreach (var (name, value) in body)
        {
            if (!declared.TryGetValue(name, out var p)) { violations.Add($"{what}: body parameter {name} is not in {node}'s spec"); continue; }
            var type = p["type"]!.GetValue<string>();
            var ok = type switch
            {
                "bool" => value?.GetValueKind() is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False,
                "string" => value?.GetValueKind() == System.Text.Json.JsonValueKind.String,
                "Object" => value is JsonObject,
                _ when Enums.TryGetValue(type, out var values) => value?.GetValueKind() == System.Text.Json.JsonValueKind.String && values.Contains(value.GetValue<string>()),
                _ => true,
            };
            if (!ok) violations.Add($"{what}: body parameter {name} is not a valid {type}: {value?.ToJsonString()}");
        }
        foreach (var (name, p) in declared)
            if (p["required"]?.GetValue<bool>() == true && !body.ContainsKey(name)) violations.Add($"{what}: required parameter {name} is missing");
        return violations;
    }
}
