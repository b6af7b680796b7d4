using System.Text.Json;
using Cdp.Modules.Collection.TrackingPlans;

namespace Cdp.Tests.Collection.TrackingPlans;

/// <summary>A compiled plan's verdict on single calls: every kind of violation, nested schemas, traits and what is not checked.</summary>
public sealed class TrackingPlanCheckTests
{
    public static string ClinicPlanPath => Path.Combine(AppContext.BaseDirectory, "TestData", "clinic-tracking-plan.json");

    private static readonly TrackingPlan Clinic = TrackingPlan.Parse("clinic", JsonDocument.Parse(File.ReadAllText(ClinicPlanPath)).RootElement);

    private static string[] Verdict(string call, string? batchContext = null) =>
        Clinic.Check(JsonDocument.Parse(call).RootElement, batchContext is null ? default : JsonDocument.Parse(batchContext).RootElement)
            .Select(v => $"{v.Kind} {v.Property}").Order(StringComparer.Ordinal).ToArray();

    public static TheoryData<string, string, string[]> Calls => new()
    {
        { "a planned event with valid properties", """{"type":"track","event":"Appointment Booked","properties":{"clinic":"North","when":"2026-12-01T10:00:00Z"}}""", [] },
        { "an event name in another case", """{"type":"track","event":"appointment booked","properties":{"clinic":"North"}}""", ["unplanned_event "] },
        { "a property the plan does not list", """{"type":"track","event":"Appointment Booked","properties":{"clinic":"North","location":"N1"}}""", ["unplanned_property properties.location"] },
        { "a required property absent", """{"type":"track","event":"Appointment Booked","properties":{"service":"dental"}}""", ["missing_property properties.clinic"] },
        { "no properties at all", """{"type":"track","event":"Appointment Booked"}""", ["missing_property properties.clinic"] },
        { "revenue as text", """{"type":"track","event":"Order Completed","properties":{"revenue":"12.50 EUR"}}""", ["invalid_property properties.revenue"] },
        { "revenue beyond what a number library reads", """{"type":"track","event":"Order Completed","properties":{"revenue":1e400}}""", ["invalid_property properties"] },
        { "revenue below its minimum", """{"type":"track","event":"Order Completed","properties":{"revenue":-1}}""", ["invalid_property properties.revenue"] },
        { "a value outside the enum", """{"type":"track","event":"Order Completed","properties":{"revenue":1,"currency":"USD"}}""", ["invalid_property properties.currency"] },
        { "a nested item of the wrong type", """{"type":"track","event":"Order Completed","properties":{"revenue":10,"products":[{"sku":"a","price":"free"}]}}""", ["invalid_property properties.products"] },
        { "a nested item missing its required name", """{"type":"track","event":"Order Completed","properties":{"revenue":10,"products":[{"sku":"a"},{"price":1}]}}""", ["invalid_property properties.products"] },
        { "several problems at once", """{"type":"track","event":"Order Completed","properties":{"currency":"USD","coupon":"X"}}""",
            ["invalid_property properties.currency", "missing_property properties.revenue", "unplanned_property properties.coupon"] },
        { "a date-time that is not one", """{"type":"track","event":"Appointment Booked","properties":{"clinic":"N","when":"next tuesday"}}""", ["invalid_property properties.when"] },
        { "context traits with a bad email", """{"type":"track","event":"Appointment Booked","properties":{"clinic":"N"},"context":{"traits":{"email":"not-an-email"}}}""", ["invalid_property context.traits.email"] },
        { "context traits with an unplanned trait", """{"type":"track","event":"Appointment Booked","properties":{"clinic":"N"},"context":{"traits":{"phone":"1"}}}""", ["unplanned_property context.traits.phone"] },
        { "an event planned without a schema", """{"type":"track","event":"Newsletter Opened","properties":{"anything":[1,2]}}""", [] },
        { "identify traits outside the enum", """{"type":"identify","userId":"u","traits":{"plan":"platinum"}}""", ["invalid_property traits.plan"] },
        { "identify traits with an unplanned trait", """{"type":"identify","userId":"u","traits":{"email":"a@b.co","nickname":"J"}}""", ["unplanned_property traits.nickname"] },
        { "identify traits with an integer as text", """{"type":"identify","userId":"u","traits":{"age":"41"}}""", ["invalid_property traits.age"] },
        { "group traits without the required name", """{"type":"group","userId":"u","groupId":"g","traits":{}}""", ["missing_property traits.name"] },
        { "a page call (not checked)", """{"type":"page","userId":"u","name":"Home","properties":{"whatever":1}}""", [] },
        { "an alias call (not checked)", """{"type":"alias","userId":"u","previousId":"a"}""", [] },
    };

    [Theory]
    [MemberData(nameof(Calls))]
    public void A_call_gets_the_violations_its_plan_finds(string what, string call, string[] expected) =>
        Verdict(call).Should().Equal(expected, what);

    [Fact]
    public void A_call_without_context_traits_is_checked_against_the_batch_s_context_traits_and_its_own_replace_them()
    {
        Verdict("""{"type":"track","event":"Appointment Booked","properties":{"clinic":"N"}}""", """{"traits":{"email":"nope"}}""")
            .Should().Equal("invalid_property context.traits.email");
        Verdict("""{"type":"track","event":"Appointment Booked","properties":{"clinic":"N"},"context":{"traits":{"email":"jane@example.com"}}}""", """{"traits":{"email":"nope"}}""")
            .Should().BeEmpty("the call's own context.traits is what the log stores");
    }

    [Fact]
    public void Omit_removes_the_unplanned_and_invalid_properties_and_keeps_the_rest_and_a_missing_one_stays_missing()
    {
        var plan = new SourcePlan("web", Clinic, ViolationAction.Omit, UnplannedEventAction.Report);
        var call = """{"type":"track","event":"Order Completed","messageId":"m","properties":{"revenue":"12.50 EUR","currency":"EUR","coupon":"WINTER","note":"ünïcode"},"context":{"traits":{"x":1}}}""";
        var outcome = PlanEnforcement.Apply(plan, JsonDocument.Parse(call).RootElement, default, System.Text.Encoding.UTF8.GetBytes(call))!;
        outcome.Blocked.Should().BeFalse();
        var kept = JsonDocument.Parse(outcome.Rewritten!).RootElement;
        kept.GetProperty("properties").EnumerateObject().Select(p => p.Name).Should().Equal("currency");
        kept.GetProperty("messageId").GetString().Should().Be("m");
        kept.GetProperty("context").GetProperty("traits").GetProperty("x").GetInt32().Should().Be(1, "the event's contextTraits are not planned: not checked");
        outcome.Violations.Select(v => v.Kind).Should().BeEquivalentTo(["invalid_property", "unplanned_property", "unplanned_property"]);
    }

    [Theory]
    [InlineData("Report", "Report", """{"type":"track","event":"Order Completed","properties":{}}""", false, 1)]
    [InlineData("Block", "Report", """{"type":"track","event":"Order Completed","properties":{}}""", true, 1)]
    [InlineData("Block", "Report", """{"type":"track","event":"Surprise","properties":{}}""", false, 1)]
    [InlineData("Report", "Block", """{"type":"track","event":"Surprise","properties":{}}""", true, 1)]
    [InlineData("Block", "Allow", """{"type":"track","event":"Surprise","properties":{}}""", false, 0)]
    [InlineData("Block", "Block", """{"type":"track","event":"Order Completed","properties":{"revenue":1}}""", false, 0)]
    public void Each_mode_decides_what_a_call_becomes(string onViolation, string onUnplanned, string call, bool blocked, int recorded)
    {
        var outcome = PlanEnforcement.Apply(new SourcePlan("web", Clinic, Enum.Parse<ViolationAction>(onViolation), Enum.Parse<UnplannedEventAction>(onUnplanned)), JsonDocument.Parse(call).RootElement, default, System.Text.Encoding.UTF8.GetBytes(call));
        (outcome?.Violations.Count ?? 0).Should().Be(recorded);
        (outcome?.Blocked ?? false).Should().Be(blocked);
    }

    [Theory]
    [InlineData("""{"events":[]}""", "\"events\" must be an object")]
    [InlineData("""{"events":{"A":{"properties":"string"}}}""", "events.A.properties must be a JSON Schema")]
    [InlineData("""{"events":{"A":{"properties":{"type":5}}}}""", "events.A.properties is not a valid JSON Schema")]
    [InlineData("""{"identifyTraits":{"patternProperties":{"(":{}}}}""", "identifyTraits is not a valid JSON Schema")]
    [InlineData("""[1]""", "must be a JSON object")]
    public void A_plan_that_cannot_be_used_is_refused_naming_the_place(string plan, string expected)
    {
        var parse = () => TrackingPlan.Parse("p", JsonDocument.Parse(plan).RootElement);
        parse.Should().Throw<TrackingPlanException>().Which.Message.Should().Contain("plan 'p'").And.Contain(expected);
    }

    [Theory]
    [InlineData("\"12.50 EUR\"", "string", "99.99 XXX")]
    [InlineData("\"jane.doe@example.com\"", "string", "xxxx.xxx@xxxxxxx.xxx")]
    [InlineData("41", "number", "99")]
    [InlineData("true", "boolean", "true")]
    [InlineData("[1,2,3]", "array", "[3 items]")]
    [InlineData("{\"a\":1,\"b\":2}", "object", "{a, b}")]
    public void An_example_keeps_the_value_s_shape_not_the_person(string json, string type, string masked) =>
        ViolationExample.Mask(JsonDocument.Parse(json).RootElement).Should().Be((type, masked));

    [Fact]
    public void A_long_value_is_cut_and_a_number_in_the_schema_s_message_is_masked()
    {
        ViolationExample.Mask(JsonDocument.Parse("\"" + new string('a', 100) + "\"").RootElement).Value!.Length.Should().Be(ViolationExample.MaxLength + 1);
        var example = JsonDocument.Parse(ViolationExample.Json("m-1", new PlanViolation("invalid_property", "properties.age", "properties.age: 17 is less than 18"))).RootElement;
        example.GetProperty("message").GetString().Should().Be("properties.age: 99 is less than 99");
        example.GetProperty("messageId").GetString().Should().Be("m-1");
    }
}
