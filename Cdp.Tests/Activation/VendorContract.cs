extern alias JsonSchemaNet;

using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using JsonSchemaNet::Json.Schema;

namespace Cdp.Tests.Activation;

/// <summary>
/// A vendor's own published OpenAPI document (vendored in TestData/vendor-openapi, see its README), checked against every
/// request a destination sends to a fake: the operation (path template and method) must exist, query parameters must be
/// declared (required ones present, values valid), path parameters and the JSON body must satisfy their schemas. Schemas are
/// evaluated by JsonSchema.Net with format validation on; the whole document is registered as one schema so that its
/// "#/components/..." references resolve. A violation names the operation, the field (JSON pointer) and the broken rule.
/// </summary>
public sealed partial class VendorContract
{
    private readonly JsonObject _spec;
    private readonly string _basePath;
    private readonly Uri _id;
    private readonly EvaluationOptions _options;
    private readonly List<(Regex Path, string Template)> _templates;
    private readonly List<(string Method, Regex Path)> _notInDocument;

    private VendorContract(string file, string basePath, params string[] notInDocument)
    {
        _basePath = basePath;
        _notInDocument = notInDocument.Select(o => o.Split(' ', 2)).Select(o => (o[0], new Regex("^" + Placeholder().Replace(Regex.Escape(o[1]), "[^/]+") + "$"))).ToList();
        _spec = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "vendor-openapi", file)))!.AsObject();
        _id = new Uri($"https://contract.test/{file}");
        _spec["$id"] = _id.ToString();
        _options = new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true };
        _options.SchemaRegistry.Register(JsonSchema.FromText(_spec.ToJsonString()));
        _templates = _spec["paths"]!.AsObject().Select(p => (new Regex("^" + Placeholder().Replace(Regex.Escape(p.Key), "(?<$1>[^/]+)") + "$"), p.Key)).ToList();
    }

    /// <summary>SendGrid Marketing Campaigns: contacts and lists (sendgrid/sendgrid-oai), served under /v3.</summary>
    public static VendorContract SendGrid { get; } = new("sendgrid-marketing-contacts.json", "/v3");

    /// <summary>Brevo API v3: contacts import, processes, list removal (getbrevo's swagger_definition_v3.yml), served under /v3.</summary>
    public static VendorContract Brevo { get; } = new("brevo-contacts.json", "/v3");

    /// <summary>
    /// Mailchimp Marketing API 3.0: batch member upsert, static segments, member update/archive/delete-permanent, served
    /// under /3.0. Assembled from the per-operation request schemas generated from Mailchimp's Swagger.json (see the README);
    /// GET /lists/{list_id}/segments is not among them, so that one call is left unchecked.
    /// </summary>
    public static VendorContract Mailchimp { get; } = new("mailchimp-marketing-lists.json", "/3.0", "GET /lists/{list_id}/segments");

    /// <summary>The rules of the vendor's contract the request breaks (empty: none). Requests outside the API's base path are not the API's.</summary>
    public IReadOnlyList<string> Check(FakeRequest r)
    {
        if (!r.Path.StartsWith(_basePath + "/", StringComparison.Ordinal)) return [];
        var path = r.Path[_basePath.Length..];
        if (_notInDocument.Any(o => o.Method == r.Method && o.Path.IsMatch(path))) return [];
        var what = $"{r.Method} {r.Path}";
        var match = _templates.Select(t => (t.Template, Match: t.Path.Match(path))).FirstOrDefault(t => t.Match.Success);
        if (match.Template is null) return [$"{what}: no such path in the vendor's OpenAPI document"];
        var item = _spec["paths"]![match.Template]!.AsObject();
        var method = r.Method.ToLowerInvariant();
        if (item[method] is not JsonObject op) return [$"{what}: {r.Method} is not an operation of {match.Template}"];
        var pointer = $"#/paths/{Escape(match.Template)}";
        var violations = new List<string>();
        var parameters = Parameters(item, pointer).Concat(Parameters(op, $"{pointer}/{method}")).ToList();

        foreach (var (p, at) in parameters.Where(p => p.P["in"]?.GetValue<string>() == "path"))
        {
            var name = p["name"]!.GetValue<string>();
            var value = Uri.UnescapeDataString(match.Match.Groups[name].Value);
            violations.AddRange(Validate(ParameterValue(p, value), $"{at}/schema", $"{what}: path parameter {name}"));
        }
        var query = r.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(kv => kv.Split('=', 2)).ToDictionary(kv => Uri.UnescapeDataString(kv[0]), kv => Uri.UnescapeDataString(kv.Length > 1 ? kv[1] : ""));
        var declared = parameters.Where(p => p.P["in"]?.GetValue<string>() == "query").ToDictionary(p => p.P["name"]!.GetValue<string>());
        foreach (var (name, value) in query)
        {
            if (!declared.TryGetValue(name, out var p)) violations.Add($"{what}: query parameter {name} is not in the contract");
            else violations.AddRange(Validate(ParameterValue(p.P, value), $"{p.At}/schema", $"{what}: query parameter {name}"));
        }
        foreach (var (name, p) in declared)
            if (p.P["required"]?.GetValue<bool>() == true && !query.ContainsKey(name)) violations.Add($"{what}: required query parameter {name} is missing");

        if (op["requestBody"] is JsonObject body)
        {
            if (r.Body.Length == 0)
            {
                if (body["required"]?.GetValue<bool>() == true) violations.Add($"{what}: the request body is required");
            }
            else if (body["content"]?["application/json"] is null) violations.Add($"{what}: the contract takes no JSON body");
            else violations.AddRange(Validate(JsonNode.Parse(r.Body), $"{pointer}/{method}/requestBody/content/application~1json/schema", $"{what}: body"));
        }
        else if (r.Body.Length > 0) violations.Add($"{what}: the contract takes no request body");
        return violations;
    }

    private static IEnumerable<(JsonObject P, string At)> Parameters(JsonObject owner, string at) =>
        owner["parameters"] is JsonArray list ? list.Select((p, i) => (p!.AsObject(), $"{at}/parameters/{i}")) : [];

    private static JsonNode? ParameterValue(JsonObject p, string text) =>
        p["schema"]?["type"]?.GetValue<string>() is "integer" && long.TryParse(text, out var n) ? JsonValue.Create(n) : JsonValue.Create(text);

    /// <summary>Evaluates <paramref name="instance"/> against the schema at <paramref name="pointer"/> of the document.</summary>
    private IEnumerable<string> Validate(JsonNode? instance, string pointer, string what)
    {
        var schema = JsonSchema.FromText($$"""{"$ref": "{{_id}}{{pointer}}"}""");
        var result = schema.Evaluate(instance, _options);
        if (result.IsValid) yield break;
        var details = result.Details.Where(d => d.HasErrors).ToList();
        if (details.Count == 0 && result.HasErrors) details.Add(result);
        foreach (var d in details)
            foreach (var (keyword, message) in d.Errors!)
                yield return $"{what} {d.InstanceLocation}: {keyword}: {message}";
    }

    private static string Escape(string template) => template.Replace("~", "~0").Replace("/", "~1");

    [GeneratedRegex(@"\\\{([A-Za-z_][A-Za-z0-9_]*)}")]
    private static partial Regex Placeholder();
}
