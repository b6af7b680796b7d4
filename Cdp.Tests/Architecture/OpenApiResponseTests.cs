using System.Text.Json;
using Cdp.Tests.Support;

namespace Cdp.Tests.Architecture;

/// <summary>
/// /openapi/v1.json describes every answer of the admin API, so that clients can be generated from it: every /api
/// operation has a summary and every 2xx response of it a JSON schema (204 No Content has no body to describe).
/// </summary>
public sealed class OpenApiResponseTests
{
    /// <summary>"GET /api/x 200" for every 2xx response of an /api operation without a JSON schema, "GET /api/x: no summary" for one without a summary.</summary>
    internal static IReadOnlyList<string> ResponsesWithoutSchema(JsonElement document)
    {
        var offenders = new List<string>();
        foreach (var path in document.GetProperty("paths").EnumerateObject().Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal) || p.Name == "/api"))
        foreach (var operation in path.Value.EnumerateObject().Where(o => o.Value.ValueKind == JsonValueKind.Object && o.Value.TryGetProperty("responses", out _)))
        {
            if (!operation.Value.TryGetProperty("summary", out var summary) || string.IsNullOrWhiteSpace(summary.GetString()))
                offenders.Add($"{operation.Name.ToUpperInvariant()} {path.Name}: no summary");
            var responses = operation.Value.GetProperty("responses").EnumerateObject().ToList();
            var success = responses.Where(r => r.Name.StartsWith('2')).ToList();
            if (success.Count == 0) offenders.Add($"{operation.Name.ToUpperInvariant()} {path.Name}: no 2xx response");
            foreach (var response in success.Where(r => r.Name != "204"))
            {
                var hasSchema = response.Value.TryGetProperty("content", out var content)
                    && content.EnumerateObject().Any(c => c.Name.Contains("json", StringComparison.Ordinal)
                                                          && c.Value.TryGetProperty("schema", out var schema) && schema.ValueKind == JsonValueKind.Object
                                                          && schema.EnumerateObject().Any());
                if (!hasSchema) offenders.Add($"{operation.Name.ToUpperInvariant()} {path.Name} {response.Name}");
            }
        }
        return offenders;
    }

    [Fact]
    public async Task Every_api_operation_has_a_summary_and_a_json_schema_for_every_2xx_response()
    {
        using var host = new CdpHost();
        var json = await host.CreateClient().GetStringAsync("/openapi/v1.json");
        using var document = JsonDocument.Parse(json);
        document.RootElement.GetProperty("paths").EnumerateObject().Count(p => p.Name.StartsWith("/api/", StringComparison.Ordinal)).Should().BeGreaterThan(30);
        var offenders = ResponsesWithoutSchema(document.RootElement);
        offenders.Should().BeEmpty("every /api handler returns TypedResults with a named record (Results<Ok<T>, ...>), so the document shows its shape:\n"
            + string.Join("\n", offenders));
    }

    [Fact]
    public void The_checker_flags_an_operation_without_a_schema_for_its_2xx_response_or_without_a_summary()
    {
        using var document = JsonDocument.Parse("""
            {"paths": {
              "/api/typed": {"get": {"summary": "typed", "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/X"}}}}}}},
              "/api/untyped": {"get": {"summary": "untyped", "responses": {"200": {"description": "OK"}}}},
              "/api/empty": {"post": {"responses": {"204": {"description": "No Content"}}}},
              "/v1/track": {"post": {"responses": {"200": {"description": "OK"}}}}
            }}
            """);
        ResponsesWithoutSchema(document.RootElement).Should().Equal("GET /api/untyped 200", "POST /api/empty: no summary");
    }
}
