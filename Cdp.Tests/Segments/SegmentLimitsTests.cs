using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Language;
using Cdp.Modules.Segments.Membership;
using Cdp.Tests.Support;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Segments;

/// <summary>
/// Regexes the engine cannot run and definitions nested too deeply: a 400 at their line and column over the API, exit 2
/// naming the key in appsettings, and a stored definition that no longer parses is marked broken instead of stopping the host.
/// </summary>
public sealed class SegmentLimitsTests
{
    /// <summary>A regex test whose pattern starts at line 2, column 22 of the definition.</summary>
    private static string WithRegex(string pattern) => "traits.plan exists and\n  traits.email matches " + JsonSerializer.Serialize(pattern);

    public static TheoryData<string, string> UnrunnableRegexes => new()
    {
        { "(?=a)b", "lookahead" },
        { "(a)\\1", "backreference" },
        { "(?>a)", "atomic" },
        { "(a{1000}){1000}", "counted repetitions" },
        { "(?(a)b|c)", "conditional" },
        { "(?<!a)b", "lookbehind" },
        { "[unclosed", "invalid regular expression" },
        { new string('a', SegmentParser.MaxRegexLength + 1), $"at most {SegmentParser.MaxRegexLength} characters" },
    };

    /// <summary>
    /// 4,990 nested parentheses: as deep as a definition's 10,000 characters allow (2,000 overflowed a 1 MB stack before the
    /// limit). The 33rd one is past the limit: line 1, column 33.
    /// </summary>
    private static readonly string DeepParentheses = new string('(', 4990) + "traits.a exists" + new string(')', 4990);

    /// <summary>2,400 nested 'not's (under 10,000 characters); the 33rd is at column 129.</summary>
    private static readonly string DeepNots = string.Concat(Enumerable.Repeat("not ", 2400)) + "traits.a exists";

    [Theory]
    [MemberData(nameof(UnrunnableRegexes))]
    public void A_regex_the_engine_cannot_run_is_a_syntax_error_at_the_regex(string pattern, string problem)
    {
        var act = () => SegmentParser.Parse(WithRegex(pattern));
        var error = act.Should().Throw<SegmentSyntaxException>().Which;
        (error.Line, error.Column).Should().Be((2, 24));
        error.Problem.Should().Contain(problem);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_an_error_at_the_first_level_too_deep_even_on_a_small_stack()
    {
        var errors = new List<SegmentSyntaxException>();
        // 256 KB: a quarter of Windows' main-thread stack; 5,000 levels of recursion would overflow it (and kill the process)
        var thread = new Thread(() =>
        {
            foreach (var source in new[] { DeepParentheses, DeepNots, "performed \"X\" where " + DeepNots.Replace("traits.", "properties.") })
            {
                try { SegmentParser.Parse(source); }
                catch (SegmentSyntaxException ex) { errors.Add(ex); }
            }
        }, 256 * 1024);
        thread.Start();
        thread.Join();
        errors.Should().HaveCount(3);
        (errors[0].Line, errors[0].Column).Should().Be((1, SegmentParser.MaxNesting + 1));
        (errors[1].Line, errors[1].Column).Should().Be((1, SegmentParser.MaxNesting * 4 + 1));
        errors.Should().AllSatisfy(e => e.Problem.Should().Contain($"more than {SegmentParser.MaxNesting} levels"));
    }

    [Fact]
    public void Nesting_up_to_the_limit_parses_and_evaluates()
    {
        var source = new string('(', SegmentParser.MaxNesting - 1) + "not traits.a exists" + new string(')', SegmentParser.MaxNesting - 1);
        var condition = SegmentParser.Parse(source);
        condition.Should().BeOfType<Negation>();
    }

    [Fact]
    public async Task The_api_answers_400_with_the_line_and_column_for_every_regex_it_cannot_run_and_for_deep_nesting()
    {
        using var host = new CdpHost();
        var admin = host.AdminClient();
        var cases = UnrunnableRegexes.Select(r => (Where: WithRegex((string)r[0]), Line: 2, Column: 24))
            .Append((Where: DeepParentheses, Line: 1, Column: SegmentParser.MaxNesting + 1))
            .Append((Where: DeepNots, Line: 1, Column: SegmentParser.MaxNesting * 4 + 1));
        foreach (var (where, line, column) in cases)
        {
            foreach (var (url, body) in new (string, object)[]
                     {
                         ("/api/segments", new { key = "s1", where }),
                         ("/api/segments/preview", new { where }),
                     })
            {
                var response = await admin.PostAsJsonAsync(url, body);
                response.StatusCode.Should().Be(HttpStatusCode.BadRequest, $"{url} with {where[..Math.Min(60, where.Length)]}");
                var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
                problem.GetProperty("title").GetString().Should().Be("invalid where");
                problem.GetProperty("detail").GetString().Should().StartWith($"Where: line {line}, column {column}: ");
                problem.GetProperty("line").GetInt32().Should().Be(line);
                problem.GetProperty("column").GetInt32().Should().Be(column);
            }
        }
        (await admin.GetFromJsonAsync<JsonElement>("/api/segments")).GetProperty("segments").EnumerateArray()
            .Should().NotContain(s => s.GetProperty("key").GetString() == "s1", "nothing was saved");
    }

    private static void Validate(TempFolder folder, params string[] settings)
    {
        var app = Cdp.Host.CdpApp.CreateBuilder([$"--Cdp:Storage:Path={folder.File("cdp.db")}", .. settings]).Build();
        using (app as IDisposable) Cdp.Host.CdpApp.ValidateSettings(app.Services);
    }

    [Theory]
    [MemberData(nameof(UnrunnableRegexes))]
    public void In_appsettings_a_regex_the_engine_cannot_run_stops_the_start_naming_the_key_line_and_column(string pattern, string problem)
    {
        using var folder = new TempFolder();
        var validate = () => Validate(folder, $"--Cdp:Segments:badregex:Where={WithRegex(pattern)}");
        validate.Should().Throw<OptionsValidationException>().Which.Message.Should()
            .Contain("Cdp:Segments:badregex:Where: line 2, column 24: ").And.Contain(problem);
    }

    [Fact]
    public async Task Check_config_exits_with_code_2_naming_each_bad_segment_with_its_line_and_column()
    {
        using var folder = new TempFolder();
        var (exitCode, output) = await CdpProcess.RunToExitAsync(folder.Path, "check-config", $"--Cdp:Storage:Path={folder.File("cdp.db")}",
            $"--Cdp:Segments:lookahead:Where={WithRegex("(?=a)b")}",
            $"--Cdp:Segments:backref:Where={WithRegex("(a)\\1")}",
            $"--Cdp:Segments:atomic:Where={WithRegex("(?>a)")}",
            $"--Cdp:Segments:huge:Where={WithRegex("(a{1000}){1000}")}",
            $"--Cdp:Segments:deep:Where={DeepParentheses}");
        exitCode.Should().Be(2, output);
        output.Should().Contain("invalid settings")
            .And.Contain("Cdp:Segments:lookahead:Where: line 2, column 24: unsupported regular expression")
            .And.Contain("Cdp:Segments:backref:Where: line 2, column 24: unsupported regular expression")
            .And.Contain("Cdp:Segments:atomic:Where: line 2, column 24: unsupported regular expression")
            .And.Contain("Cdp:Segments:huge:Where: line 2, column 24: unsupported regular expression")
            .And.Contain($"Cdp:Segments:deep:Where: line 1, column {SegmentParser.MaxNesting + 1}: the condition nests more than");
        output.Should().NotContain("Unhandled exception");
    }

    [Fact]
    public async Task A_stored_segment_that_no_longer_parses_is_marked_broken_and_the_host_starts_and_evaluates_the_others()
    {
        using var folder = new TempFolder();
        using (var first = CdpHost.LiteDbOnly("plants a broken definition in cdp.db", folder: folder))
        {
            var admin = first.AdminClient();
            (await admin.PostAsJsonAsync("/api/segments", new { key = "old", where = "traits.plan = \"gold\"" })).StatusCode.Should().Be(HttpStatusCode.Created);
            (await admin.PostAsJsonAsync("/api/segments", new { key = "good", where = "traits.plan exists" })).StatusCode.Should().Be(HttpStatusCode.Created);
            // as an older version without the nesting limit could have saved it
            first.Service<Cdp.Modules.Shared.Storage.CdpDatabase>().InTransaction(d =>
            {
                var defs = d.GetCollection(Cdp.Modules.Segments.Membership.LiteDb.LiteSegmentStore.Collections.Definitions);
                var doc = defs.FindById("old");
                doc["where"] = DeepParentheses;
                defs.Update(doc);
            });
        }
        using var second = CdpHost.LiteDbOnly("plants a broken definition in cdp.db", folder: folder);
        await second.TrackingClient().Send("identify", """{"userId":"u1","traits":{"plan":"gold"}}""");
        await second.Processed();
        var client = second.AdminClient();
        var old = await client.GetFromJsonAsync<JsonElement>("/api/segments/old");
        old.GetProperty("health").GetString().Should().StartWith($"error: line 1, column {SegmentParser.MaxNesting + 1}: the condition nests more than");
        old.GetProperty("problem").GetString().Should().Contain("nests more than");
        var good = await client.GetFromJsonAsync<JsonElement>("/api/segments/good");
        good.GetProperty("problem").ValueKind.Should().Be(JsonValueKind.Null);
        var explained = await client.GetFromJsonAsync<JsonElement>("/api/segments/profiles/user_id:u1");
        explained.GetProperty("segments").EnumerateArray().Single(s => s.GetProperty("segment").GetString() == "old")
            .GetProperty("explanation").GetString().Should().StartWith("not evaluated: ");
    }
}
