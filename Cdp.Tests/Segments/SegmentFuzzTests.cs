using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Evaluation;
using Cdp.Modules.Segments.Language;
using Cdp.Tests.Support;
using CsCheck;

namespace Cdp.Tests.Segments;

/// <summary>
/// Random and hostile definitions (random tokens, deep nesting, long strings, odd Unicode, random regexes) through the
/// parser, the evaluator and the explanations, and through the API's create, preview and explain endpoints on the real
/// host: a definition is either valid or an error at a line and column, never an exception, a 5xx or a crash.
/// </summary>
public sealed class SegmentFuzzTests
{
    private static readonly string[] Vocabulary =
    [
        "traits", "computed", "properties", "context", ".", "plan", "email", "lifetime_revenue", "a-b", "$x", "_",
        "=", "==", "!=", "<", "<=", ">", ">=", "(", ")", "[", "]", ",", "!", "&", "|", "{", "}", "'", "\\", "\"", "#c\n",
        "and", "or", "not", "NOT", "performed", "where", "at", "least", "most", "exactly", "times", "time", "within", "between",
        "days", "ago", "ever", "in", "segment", "exists", "matches", "contains", "startsWith", "endsWith", "before", "after",
        "any", "event", "page", "screen", "track", "identify", "group", "alias", "true", "false", "null",
        "30d", "2w", "0d", "99999d", "3660d", "1.5d", "30h", "1e308", "-1", "3.5", "0", "2147483648", "99999999999999999999",
        "1..2", "-", "\"Order Completed\"", "\"2026-01-31\"", "\"not a date\"", "\"\"", "\"\\u00\"", "\"\\ud800\"",
        "\u0000", "\u001b", "\u00a0", "\u2028", "\u202e", "\ufeff", "\ud800", "\udfff", "𝔘𝔫𝔦", "🙂", "é", "ß", "İ", "\t", "\r\n", "\n",
    ];

    private static readonly string[] HostileRegexes =
    [
        "(?=a)b", "(a)\\1", "(?>a)", "(a{1000}){1000}", "(a{100}){100}", "a{2147483647}", "(?<!a)b", "(?(a)b|c)", "\\G", "[", "(", "a**",
        "(a|aa)*b", "(.*a){20}", "(?i)straße", "\\p{L}+", "\\p{Nope}", "[\\w\\W]{500}", "^$", "", "(?<n>a)\\k<n>", "\\", "(?#c)a", "\\u{1F600}",
    ];

    private static readonly Gen<char> OddChar = Gen.Frequency(
        (6, Gen.Char['a', 'z']),
        (2, Gen.OneOf('(', ')', '[', ']', '{', '}', '*', '+', '?', '|', '\\', '^', '$', '.', '=', '!', '<', '>', ':', '"', '#', '\n', ' ')),
        (2, Gen.Int[0, 0xFFFF].Select(i => (char)i)));

    private static readonly Gen<string> OddString = OddChar.Array[0, 40].Select(c => new string(c));

    private static readonly Gen<string> QuotedString = Gen.Frequency(
        (4, OddString.Select(s => JsonSerializer.Serialize(s))),
        (1, OddString.Select(s => "\"" + s + "\"")),
        (1, Gen.Int[1000, 12_000].Select(n => "\"" + new string('x', n) + "\"")));

    private static readonly Gen<string> Regex = Gen.Frequency(
        (3, Gen.OneOf(HostileRegexes)),
        (3, OddString),
        (1, Gen.Int[1, 2000].Select(n => new string('(', n) + "a" + new string(')', n))));

    private static readonly Gen<string> Token = Gen.Frequency(
        (10, Gen.OneOf(Vocabulary)),
        (2, QuotedString),
        (1, Regex.Select(r => "matches " + JsonSerializer.Serialize(r))),
        (1, Gen.Int[-1000, 100_000].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))));

    private static readonly Gen<string> Simple = Gen.OneOf(
        "traits.plan = \"gold\"", "traits.email exists", "computed.lifetime_revenue > 100", "traits.age between 1 and 30 days ago",
        "performed \"Order Completed\" at least 2 times within 30d", "performed page \"Pricing\" where properties.path startsWith \"/x\"",
        "traits.tags in [\"a\", 1, true, null]", "traits.birthday within 7d", "traits.signup before 30d ago");

    /// <summary>A definition: random tokens, a valid condition with one token changed, or a deep nesting of '(' / 'not' / filters.</summary>
    internal static readonly Gen<string> Definition = Gen.Frequency(
        (5, Gen.Select(Token, Gen.OneOf(" ", "", "\n", "  ", "\t")).Array[0, 30]
            .Select(parts => string.Concat(parts.Select(p => p.Item1 + p.Item2)))),
        (3, Gen.Select(Simple, Token, Gen.Int[0, 200], (s, t, at) => s.Insert(Math.Min(at, s.Length), " " + t + " "))),
        (2, Gen.Select(Simple, Regex, (s, r) => s + " and traits.email matches " + JsonSerializer.Serialize(r))),
        (2, Gen.Select(Gen.Int[0, 5000], Gen.OneOf("(", "not ", "not (", "performed \"X\" where ("), Simple, Gen.Bool,
            (depth, open, inner, closed) => string.Concat(Enumerable.Repeat(open, depth)) + inner.Replace("traits.", open.Contains("where") ? "properties." : "traits.")
                + (closed ? new string(')', depth * open.Count(c => c == '(')) : ""))),
        (1, Gen.Select(Simple, Gen.Int[1, 400], (s, n) => string.Join(n % 2 == 0 ? " and " : " or ", Enumerable.Repeat(s, n)))));

    private static readonly JsonElement[] Profiles =
    [
        JsonDocument.Parse("{}").RootElement,
        JsonDocument.Parse("""
            {"plan":"gold","email":"a@b.c","age":"1e308","tags":["a",1,null,{"x":1}],"birthday":1e400,"signup":"NaN",
             "a-b":{"c":[[[]]]},"$x":-0.0,"_":"\u0000\ud83d\ude42"}
            """).RootElement,
        JsonDocument.Parse("""{"plan":["gold"],"email":123,"age":{"y":2},"tags":"a","birthday":"2026-13-45","signup":true}""").RootElement,
    ];

    private static void ParseAndEvaluate(string source)
    {
        Condition condition;
        try
        {
            condition = SegmentParser.Parse(source);
        }
        catch (SegmentSyntaxException ex)
        {
            var lines = source.Split('\n').Length;
            ex.Line.Should().BeInRange(1, lines);
            ex.Column.Should().BeGreaterThanOrEqualTo(1);
            ex.Message.Should().StartWith($"line {ex.Line}, column {ex.Column}: ");
            return;
        }
        _ = SegmentRules.References(condition).Count() + SegmentRules.Events(condition).Count();
        _ = SegmentRules.ReadsProfile(condition);
        _ = condition.ToString(); // records print themselves recursively
        foreach (var traits in Profiles)
        {
            var input = new EvaluationInput
            {
                Traits = traits, Computed = traits, Counters = new Dictionary<string, EventCounter>(),
                InSegment = _ => true, Today = 20_000,
            };
            ConditionEvaluator.Evaluate(condition, input);
            ConditionEvaluator.Explain(condition, input).Should().NotBeEmpty();
            ConditionEvaluator.Filter(condition, traits, 20_000);
        }
    }

    [Fact]
    public void Any_definition_parses_or_fails_at_a_line_and_column_and_a_parsed_one_evaluates_on_a_small_stack()
    {
        Exception? failure = null;
        // 512 KB, half of Windows' main-thread stack: recursion must stay bounded whatever the input
        var thread = new Thread(() =>
        {
            try { Definition.Sample(ParseAndEvaluate, iter: 3000, threads: 1); }
            catch (Exception ex) { failure = ex; }
        }, 512 * 1024);
        thread.Start();
        thread.Join();
        failure.Should().BeNull();
    }

    [Fact]
    public async Task Create_preview_and_explain_on_the_real_host_never_answer_5xx_and_errors_carry_a_line_and_column()
    {
        using var host = new CdpHost();
        var tracking = host.TrackingClient();
        await tracking.Send("identify", """{"userId":"u1","traits":{"plan":"gold","email":"a@b.c","age":"1e308","tags":["a",1,null]}}""");
        await tracking.Send("track", """{"userId":"u1","event":"Order Completed","properties":{"revenue":12.5,"path":"/x"}}""");
        await host.Processed();
        var admin = host.AdminClient();
        var n = 0;
        await Definition.SampleAsync(async where =>
        {
            var key = "f" + Interlocked.Increment(ref n);
            var created = await admin.PostAsync("/api/segments", Json(new { key, where }));
            await ExpectNo5xx(created, where, HttpStatusCode.Created);
            var preview = await admin.PostAsync("/api/segments/preview", Json(new { where }));
            await ExpectNo5xx(preview, where, HttpStatusCode.OK);
            var explained = await admin.GetAsync("/api/segments/profiles/user_id:u1");
            explained.StatusCode.Should().Be(HttpStatusCode.OK, await explained.Content.ReadAsStringAsync());
            if (created.StatusCode == HttpStatusCode.Created) (await admin.DeleteAsync("/api/segments/" + key)).StatusCode.Should().Be(HttpStatusCode.NoContent);
        }, iter: 150, threads: 1);

        // the processor still runs and every segment is readable after all that
        await tracking.Send("track", """{"userId":"u1","event":"Order Completed","properties":{"revenue":1}}""");
        await host.Processed();
        (await admin.GetAsync("/api/segments")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    /// <summary>JSON as a client would send it; odd strings (lone surrogates) are written as escapes.</summary>
    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static async Task ExpectNo5xx(HttpResponseMessage response, string where, HttpStatusCode success)
    {
        var body = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).Should().BeLessThan(500, $"{where} -> {body}");
        if (response.StatusCode == success) return;
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, $"{where} -> {body}");
        var problem = JsonDocument.Parse(body).RootElement;
        if (!problem.TryGetProperty("field", out var field) || field.GetString() != "where") return; // e.g. a body that is not JSON
        var detail = problem.GetProperty("detail").GetString()!;
        if (detail.StartsWith("Where: line ", StringComparison.Ordinal))
        {
            problem.GetProperty("line").GetInt32().Should().BeGreaterThanOrEqualTo(1, detail);
            problem.GetProperty("column").GetInt32().Should().BeGreaterThanOrEqualTo(1, detail);
        }
        else
        {
            detail.Should().Match(d => d.Contains("is required") || d.Contains("at most 10000 characters"), "every other problem of a condition has a position");
        }
    }
}
