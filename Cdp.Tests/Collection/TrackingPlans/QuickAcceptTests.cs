extern alias JsonSchemaNet;

using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.TrackingPlans;
using JsonSchemaNet::Json.Schema;

namespace Cdp.Tests.Collection.TrackingPlans;

/// <summary>
/// The ingest path's shortcut for valid calls must never accept what JsonSchema.Net refuses: thousands of random values
/// against schemas using every keyword the shortcut takes, compared with the library. It must also accept most valid calls
/// (or it saves nothing), and leave schemas with other keywords to the library.
/// </summary>
public sealed class QuickAcceptTests
{
    private static readonly string[] Schemas =
    [
        """{"type":"object","properties":{"revenue":{"type":"number","minimum":0,"exclusiveMaximum":1000},"qty":{"type":"integer","maximum":5},"currency":{"enum":["EUR","GBP",1,null]},"code":{"type":"string","minLength":2,"maxLength":3}},"required":["revenue"]}""",
        """{"type":"object","properties":{"tags":{"type":"array","items":{"type":["string","integer"]},"minItems":1,"maxItems":3},"meta":{"type":"object","additionalProperties":{"type":"boolean"},"maxProperties":2}},"additionalProperties":false}""",
        """{"properties":{"k":{"const":{"a":[1,2],"b":null}},"n":{"const":2},"any":true,"none":false},"minProperties":1,"description":"annotations are fine","examples":[{}]}""",
        """{"type":["object","null"],"properties":{"x":{"exclusiveMinimum":-1.5,"type":"number"},"s":{"type":"string","maxLength":2}}}""",
    ];

    private static readonly string[] Keys = ["revenue", "qty", "currency", "code", "tags", "meta", "k", "n", "any", "none", "x", "s", "other"];

    private static string RandomValue(Random rng, int depth) => rng.Next(depth > 2 ? 9 : 12) switch
    {
        0 => "null",
        1 => rng.Next(2) == 0 ? "true" : "false",
        2 => rng.Next(-3, 8).ToString(System.Globalization.CultureInfo.InvariantCulture),
        3 => (rng.NextDouble() * 2000 - 500).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        4 => new[] { "1.0", "2.0", "5.0000", "-1.5", "-1.4999", "1000", "999.9999", "1e2", "1E-2", "123456789012345678901234567890", "1e400" }[rng.Next(11)],
        5 => JsonSerializer.Serialize(new[] { "EUR", "GBP", "eur", "", "ab", "abc", "abcd", "😀😀", "😀😀😀😀", "é" }[rng.Next(10)]),
        6 => "\"" + new string('x', rng.Next(0, 5)) + "\"",
        7 => "2",
        8 => "{\"a\":[1,2],\"b\":null}",
        9 => "[" + string.Join(",", Enumerable.Range(0, rng.Next(0, 5)).Select(_ => RandomValue(rng, depth + 1))) + "]",
        _ => RandomObject(rng, depth + 1),
    };

    private static string RandomObject(Random rng, int depth) =>
        "{" + string.Join(",", Keys.OrderBy(_ => rng.Next()).Take(rng.Next(0, 5)).Select(k => JsonSerializer.Serialize(k) + ":" + RandomValue(rng, depth))) + "}";

    [Fact]
    public void The_shortcut_never_accepts_a_value_the_schema_library_refuses_and_accepts_most_valid_ones()
    {
        var rng = new Random(20261205);
        var options = new EvaluationOptions { OutputFormat = OutputFormat.Flag };
        long validByLibrary = 0, accepted = 0, checkedValues = 0;
        foreach (var text in Schemas)
        {
            var quick = QuickAccept.Compile(JsonDocument.Parse(text).RootElement);
            quick.Should().NotBeNull(text);
            var schema = JsonSchema.FromText(text);
            for (var i = 0; i < 4000; i++)
            {
                var value = rng.Next(5) == 0 ? RandomValue(rng, 0) : RandomObject(rng, 0);
                using var doc = JsonDocument.Parse(value);
                bool library;
                try { library = schema.Evaluate(doc.RootElement, options).IsValid; }
                catch (Exception ex) when (ex is FormatException or OverflowException) { library = false; } // 1e400: the library cannot read it
                var shortcut = quick!.Accepts(doc.RootElement);
                checkedValues++;
                if (library) validByLibrary++;
                if (shortcut)
                {
                    accepted++;
                    library.Should().BeTrue($"the shortcut accepted {value} against {text}, which the library refuses");
                }
            }
        }
        validByLibrary.Should().BeGreaterThan(checkedValues / 20, "the random values reach the valid side too");
        accepted.Should().BeGreaterThan(validByLibrary * 9 / 10, "the shortcut accepts nearly every valid value it can be sure of");
    }

    [Theory]
    [InlineData("""{"type":"string","format":"email"}""")]
    [InlineData("""{"type":"string","pattern":"^a"}""")]
    [InlineData("""{"$ref":"#/$defs/x","$defs":{"x":{}}}""")]
    [InlineData("""{"anyOf":[{"type":"string"}]}""")]
    [InlineData("""{"properties":{"a":{"patternProperties":{"^x":{}}}}}""")]
    [InlineData("""{"items":[{"type":"string"}]}""")]
    [InlineData("""{"type":"uuid"}""")]
    public void A_schema_with_keywords_the_shortcut_does_not_take_is_left_to_the_library(string schema) =>
        QuickAccept.Compile(JsonDocument.Parse(schema).RootElement).Should().BeNull();
}
