using System.Text.Json;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Evaluation;
using Cdp.Modules.Segments.Language;

namespace Cdp.Tests.Segments;

public sealed class SegmentLanguageTests
{
    private static readonly DateTime Now = new(2026, 3, 31, 12, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData("performed \"Page Viewed\" at least two times", 1, 34, "expected a whole number after 'at least', found 'two'")]
    [InlineData("traits.plan = ", 1, 15, "expected a value (a string in quotes, a number, true, false or null) after '=', found the end of the expression")]
    [InlineData("traits.age > 30 and\n  (traits.plan = \"gold\" or traits.x exists", 2, 43, "expected ')' to close the '(' at line 2, column 3, found the end of the expression")]
    [InlineData("traits.plan is \"gold\"", 1, 13, "expected a test for plan (=, !=, <, <=, >, >=, contains, startsWith, endsWith, in, exists, matches, within, before, after, between), found 'is'")]
    [InlineData("performed \"X\" within 30h", 1, 22, "expected a duration in whole days or weeks such as 30d or 2w, found '30h'")]
    [InlineData("traits.name = \"open", 1, 15, "this string has no closing quote")]
    [InlineData("performed \"X\" between 30 and 7 days ago", 1, 30, "the range is backwards: 7 is less than 30")]
    [InlineData("foo.bar = 1", 1, 1, "expected a condition (traits.…, computed.…, performed …, in segment \"…\", 'not' or '('), found 'foo'")]
    [InlineData("traits.email matches \"(unclosed\"", 1, 22, "invalid regular expression")]
    [InlineData("traits.a = 1 traits.b = 2", 1, 14, "expected 'and', 'or' or the end of the expression, found 'traits'")]
    public void Invalid_expressions_name_the_line_the_column_and_what_was_expected(string source, int line, int column, string problem)
    {
        var act = () => SegmentParser.Parse(source);
        var error = act.Should().Throw<SegmentSyntaxException>().Which;
        (error.Line, error.Column).Should().Be((line, column));
        error.Problem.Should().StartWith(problem);
        error.Message.Should().StartWith($"line {line}, column {column}: ");
    }

    [Fact]
    public void The_seed_example_parses_into_a_counted_condition_and_a_negated_one()
    {
        var c = SegmentParser.Parse("""
            performed "Page Viewed" where properties.path startsWith "/dermatology" at least 2 times within 30d
            and not performed "Appointment Booked" within 30d
            """);
        var all = c.Should().BeOfType<AllOf>().Which;
        var visits = all.Parts[0].Should().BeOfType<EventCondition>().Which;
        visits.Count.Should().Be(new CountRange(2, null));
        visits.Window.Should().Be(new DayWindow(0, 29));
        visits.Filter.Should().BeOfType<ValueCondition>().Which.Path.Should().Equal("properties", "path");
        all.Parts[1].Should().BeOfType<Negation>().Which.Inner.Should().BeOfType<EventCondition>()
            .Which.Selector.Should().Be(new EventSelector("track", "Appointment Booked"));
    }

    [Theory]
    [InlineData("traits.age > 9", """{"age":10}""", true)]
    [InlineData("traits.age > 9", """{"age":"10"}""", true)]          // a number literal compares numerically, numeric strings included
    [InlineData("traits.code > \"9\"", """{"code":"10"}""", false)]   // a string literal compares ordinally: "10" < "9"
    [InlineData("traits.code > \"9\"", """{"code":10}""", false)]     // the number's JSON text "10"
    [InlineData("traits.age = 42", """{"age":42.0}""", true)]
    [InlineData("traits.age = \"42\"", """{"age":42}""", true)]
    [InlineData("traits.age < 5", """{"age":"young"}""", false)]      // not a number: every numeric test fails
    [InlineData("traits.plan != \"gold\"", """{}""", false)]          // missing fails every test but "= null"
    [InlineData("not traits.plan = \"gold\"", """{}""", true)]
    [InlineData("traits.plan = null", """{"plan":null}""", true)]
    [InlineData("traits.plan = \"Gold\"", """{"plan":"gold"}""", false)] // case-sensitive
    [InlineData("traits.tags contains \"vip\"", """{"tags":["new","vip"]}""", true)]
    [InlineData("traits.tags = \"vip\"", """{"tags":["new","vip"]}""", true)]
    [InlineData("traits.tags != \"vip\"", """{"tags":["new","vip"]}""", false)]
    [InlineData("traits.plan in [\"gold\", \"silver\"]", """{"plan":"silver"}""", true)]
    [InlineData("traits.level in [1, 2]", """{"level":"2"}""", true)]
    [InlineData("traits.email matches \"@example\\\\.com$\"", """{"email":"a@example.com"}""", true)]
    [InlineData("traits.address.city startsWith \"Lee\"", """{"address":{"city":"Leeds"}}""", true)]
    [InlineData("traits.vip = true", """{"vip":"true"}""", false)]
    [InlineData("traits.last_visit within 30d", """{"last_visit":"2026-03-02T00:00:00Z"}""", true)]
    [InlineData("traits.last_visit within 30d", """{"last_visit":"2026-03-01T23:59:59Z"}""", false)]
    [InlineData("traits.signup before \"2026-01-01\"", """{"signup":"2025-12-31T23:59:59Z"}""", true)]
    [InlineData("traits.signup after 90d ago", """{"signup":"2026-01-01T00:00:00Z"}""", true)]
    [InlineData("traits.signup between 7 and 30 days ago", """{"signup":"2026-03-20T10:00:00Z"}""", true)]
    [InlineData("traits.signup between 7 and 30 days ago", """{"signup":"2026-03-25T10:00:00Z"}""", false)]
    [InlineData("traits.seen within 1d", "{\"seen\":1774958400}", true)] // epoch seconds: 2026-03-31T12:00Z
    public void Trait_comparisons_follow_the_documented_semantics(string where, string traits, bool expected)
    {
        Evaluate(where, traits).Should().Be(expected);
    }

    [Fact]
    public void Windows_are_whole_UTC_days_the_30th_day_back_starts_at_midnight()
    {
        var c = (EventCondition)SegmentParser.Parse("performed \"Page Viewed\" at least 2 times within 30d");
        var counter = new EventCounter();
        counter.Add(Days.Of(new DateTime(2026, 3, 2, 0, 0, 0, DateTimeKind.Utc)));      // 29 days ago, first instant: inside
        counter.Add(Days.Of(new DateTime(2026, 3, 1, 23, 59, 59, DateTimeKind.Utc)));   // 30 days ago: outside
        var input = Input("{}", new() { [c.CounterId] = counter });
        ConditionEvaluator.Count(c, input).Should().Be(1);
        ConditionEvaluator.Evaluate(c, input).Should().BeFalse();
        counter.Add(Days.Of(Now));
        ConditionEvaluator.Evaluate(c, input).Should().BeTrue();
        // a day later the event of March 2nd has aged out
        ConditionEvaluator.Evaluate(c, Input("{}", new() { [c.CounterId] = counter }, Now.AddDays(1))).Should().BeFalse();
    }

    [Theory]
    [InlineData("exactly 2 times", 2, true)]
    [InlineData("exactly 2 times", 3, false)]
    [InlineData("between 2 and 3 times", 3, true)]
    [InlineData("at most 1 time", 0, true)]
    [InlineData("2 times", 2, true)]
    public void Counts_can_be_exact_or_ranges(string count, int events, bool expected)
    {
        var c = (EventCondition)SegmentParser.Parse($"performed \"Order Completed\" {count} within 7d");
        var counter = new EventCounter();
        for (var i = 0; i < events; i++) counter.Add(Days.Of(Now));
        ConditionEvaluator.Evaluate(c, Input("{}", new() { [c.CounterId] = counter })).Should().Be(expected);
    }

    [Fact]
    public void Not_performed_holds_when_nothing_was_counted_in_the_window()
    {
        var c = SegmentParser.Parse("not performed \"Appointment Booked\" within 30d");
        var booked = (EventCondition)((Negation)c).Inner;
        var counter = new EventCounter();
        ConditionEvaluator.Evaluate(c, Input("{}", new() { [booked.CounterId] = counter })).Should().BeTrue();
        counter.Add(Days.Of(Now.AddDays(-40)));
        ConditionEvaluator.Evaluate(c, Input("{}", new() { [booked.CounterId] = counter })).Should().BeTrue("40 days ago is outside the window");
        counter.Add(Days.Of(Now.AddDays(-3)));
        ConditionEvaluator.Evaluate(c, Input("{}", new() { [booked.CounterId] = counter })).Should().BeFalse();
    }

    [Fact]
    public void Between_days_ago_windows_exclude_recent_days()
    {
        var c = (EventCondition)SegmentParser.Parse("performed page between 7 and 30 days ago");
        var counter = new EventCounter();
        counter.Add(Days.Of(Now.AddDays(-6)));
        ConditionEvaluator.Evaluate(c, Input("{}", new() { [c.CounterId] = counter })).Should().BeFalse();
        counter.Add(Days.Of(Now.AddDays(-7)));
        ConditionEvaluator.Evaluate(c, Input("{}", new() { [c.CounterId] = counter })).Should().BeTrue();
    }

    [Theory]
    [InlineData("properties.path startsWith \"/dermatology\"", true)]
    [InlineData("properties.doctor.address.city = \"Leeds\"", true)]
    [InlineData("properties.doctor.rating >= 4.5", true)]
    [InlineData("properties.path startsWith \"/derm\" and properties.doctor.address.city = \"York\"", false)]
    [InlineData("(properties.doctor.address.city = \"York\" or context.locale = \"en-GB\")", true)]
    [InlineData("not properties.doctor.missing exists", true)]
    public void Event_filters_read_nested_properties(string filter, bool expected)
    {
        var c = (EventCondition)SegmentParser.Parse($"performed \"Page Viewed\" where {filter} at least 1 time");
        using var payload = JsonDocument.Parse("""
            {"type":"track","event":"Page Viewed","properties":{"path":"/dermatology/acne","doctor":{"rating":4.7,"address":{"city":"Leeds"}}},"context":{"locale":"en-GB"}}
            """);
        ConditionEvaluator.Filter(c.Filter!, payload.RootElement, Days.Of(Now)).Should().Be(expected);
    }

    [Fact]
    public void A_filter_and_followed_by_a_profile_condition_belongs_to_the_outer_expression()
    {
        var c = SegmentParser.Parse("performed \"Page Viewed\" where properties.path = \"/a\" and traits.plan = \"gold\"");
        var all = c.Should().BeOfType<AllOf>().Which;
        all.Parts.Should().HaveCount(2);
        all.Parts[0].Should().BeOfType<EventCondition>().Which.Filter.Should().BeOfType<ValueCondition>();
    }

    [Fact]
    public void Conditions_that_differ_only_in_count_or_window_share_counters()
    {
        var a = (EventCondition)SegmentParser.Parse("performed \"A\" where properties.x = 1 at least 2 times within 30d");
        var b = (EventCondition)SegmentParser.Parse("performed \"A\" where properties.x = 1 within 7d");
        var c = (EventCondition)SegmentParser.Parse("performed \"A\" where properties.x = 2");
        a.CounterId.Should().Be(b.CounterId);
        a.CounterId.Should().NotBe(c.CounterId);
    }

    [Fact]
    public void Segment_references_must_exist_and_must_not_form_a_cycle()
    {
        var defs = new Dictionary<string, Condition>(StringComparer.OrdinalIgnoreCase)
        {
            ["a"] = SegmentParser.Parse("in segment \"b\""),
            ["b"] = SegmentParser.Parse("traits.x = 1 and in segment \"c\""),
            ["c"] = SegmentParser.Parse("in segment \"a\""),
        };
        SegmentRules.ReferenceProblem("a", defs["a"], k => defs.GetValueOrDefault(k))
            .Should().Be("line 1, column 12: segments would form a cycle: a -> b -> c -> a");
        SegmentRules.ReferenceProblem("x", SegmentParser.Parse("traits.y = 1 or in segment \"nope\""), k => defs.GetValueOrDefault(k))
            .Should().Be("line 1, column 28: unknown segment \"nope\"");
        SegmentRules.ReferenceProblem("a", SegmentParser.Parse("in segment \"A\""), k => defs.GetValueOrDefault(k))
            .Should().Be("line 1, column 12: a segment cannot contain itself");
    }

    [Fact]
    public void Config_validation_names_the_segment_key()
    {
        var settings = new SegmentSettings { ["derm"] = new SegmentSetting { Where = "performed \"Page Viewed\" at least two times" } };
        var result = new SegmentSettingsValidator().Validate(settings);
        result.Errors.Should().ContainSingle().Which.Should().Match<FluentValidation.Results.ValidationFailure>(f =>
            f.PropertyName == "derm.Where" && f.ErrorMessage == "line 1, column 34: expected a whole number after 'at least', found 'two'");
    }

    [Theory]
    [InlineData("performed page where properties.path startsWith \"/dermatology\" at least 2 times within 30d\n  and not performed \"Appointment Booked\" within 30d")]
    [InlineData("traits.address.city = \"Leeds\" or traits.email endsWith \"@leeds.example\"")]
    [InlineData("traits.signup before \"2026-01-01\" and not traits.churned = true  # a comment")]
    [InlineData("performed \"Order Completed\" where properties.total >= 100 and properties.currency = \"GBP\" exactly 1 time within 60d")]
    [InlineData("performed \"Order Completed\" between 2 and 5 times between 30 and 90 days ago")]
    [InlineData("performed any between 30 and 60 days ago and not performed any within 30d")]
    [InlineData("computed.orders_30d >= 3 or computed.lifetime_revenue > 500")]
    [InlineData("in segment \"dermatology-no-booking\" and traits.email matches \"@example\\.com$\"")]
    [InlineData("performed screen \"Checkout\" where (context.app.version startsWith \"2.\" or properties.beta = true) within 7d")]
    public void The_documented_examples_parse(string where)
    {
        var act = () => SegmentParser.Parse(where);
        act.Should().NotThrow();
    }

    private static bool Evaluate(string where, string traits) => ConditionEvaluator.Evaluate(SegmentParser.Parse(where), Input(traits, new()));

    private static EvaluationInput Input(string traits, Dictionary<string, EventCounter> counters, DateTime? now = null) => new()
    {
        Traits = JsonDocument.Parse(traits).RootElement,
        Computed = JsonDocument.Parse("{}").RootElement,
        Counters = counters,
        InSegment = _ => false,
        Today = Days.Of(now ?? Now),
    };
}
