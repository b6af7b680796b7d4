using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Tests.Support;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Collection.TrackingPlans;

/// <summary>
/// A source's tracking plan on the real host: what each mode stores, dead-letters and records, what the SDK is answered,
/// the violations API, the metric, and the settings that refuse the start.
/// </summary>
public sealed class TrackingPlanIngestTests
{
    private static Dictionary<string, string?> Settings(string onViolation, string onUnplanned = "Report", bool strict = false) => new()
    {
        ["Cdp:TrackingPlans:clinic:File"] = TrackingPlanCheckTests.ClinicPlanPath,
        ["Cdp:Sources:web:TrackingPlan"] = "clinic",
        ["Cdp:Sources:web:OnViolation"] = onViolation,
        ["Cdp:Sources:web:OnUnplannedEvent"] = onUnplanned,
        ["Cdp:Sources:web:Strict"] = strict ? "true" : "false",
    };

    /// <summary>One batch: a valid booking, an unplanned event name, revenue as text with an unplanned coupon, a valid identify.</summary>
    private const string MixedBatch = """
        {"batch":[
          {"type":"track","messageId":"ok","userId":"u1","event":"Appointment Booked","properties":{"clinic":"North"}},
          {"type":"track","messageId":"unplanned","userId":"u1","event":"appointment booked","properties":{"clinic":"North"}},
          {"type":"track","messageId":"bad","userId":"u2","event":"Order Completed","properties":{"revenue":"12.50 EUR","currency":"EUR","coupon":"WINTER"}},
          {"type":"identify","messageId":"who","userId":"u2","traits":{"email":"jane@example.com","plan":"gold"}}
        ]}
        """;

    private static async Task Send(CdpHost host, string body)
    {
        var response = await host.TrackingClient().PostAsync("/v1/batch", TrackingApiTests.Json(body));
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        (await response.Content.ReadAsStringAsync()).Should().Be("""{"success":true}""", "the SDK's answer is the Segment spec's, whatever the plan made of the calls");
    }

    private static Dictionary<string, JsonElement> Logged(CdpHost host) => host.Service<IEventLog>().ReadAfter(0, 10_000)
        .Select(e => JsonDocument.Parse(e.Json).RootElement.Clone()).ToDictionary(e => e.GetProperty("messageId").GetString()!);

    private static async Task<List<JsonElement>> DeadLetters(CdpHost host) =>
        (await host.AdminClient().GetFromJsonAsync<JsonElement>("/api/collection/dead-letters")).GetProperty("items").EnumerateArray().ToList();

    private static async Task<JsonElement> Violations(CdpHost host, string query = "") =>
        await host.AdminClient(CdpHost.AnalystKey).GetFromJsonAsync<JsonElement>("/api/tracking-plans/violations" + query);

    private static string[] Kinds(JsonElement report) => report.GetProperty("violations").EnumerateArray()
        .Select(v => $"{v.GetProperty("kind").GetString()} {v.GetProperty("event").GetString()} {v.GetProperty("property").GetString()} x{v.GetProperty("count").GetInt64()}")
        .Order(StringComparer.Ordinal).ToArray();

    [SkippableFact]
    public async Task Report_stores_every_call_as_sent_and_records_each_violation_with_a_masked_example()
    {
        using var host = new CdpHost(Settings("Report"));
        await Send(host, MixedBatch);

        var logged = Logged(host);
        logged.Keys.Should().BeEquivalentTo(["ok", "unplanned", "bad", "who"]);
        logged["bad"].GetProperty("properties").GetProperty("revenue").GetString().Should().Be("12.50 EUR", "Report stores the call as it was sent");
        (await DeadLetters(host)).Should().BeEmpty();

        var report = await Violations(host);
        Kinds(report).Should().Equal(
            "invalid_property Order Completed properties.revenue x1",
            "unplanned_event appointment booked  x1",
            "unplanned_property Order Completed properties.coupon x1");
        report.GetProperty("total").GetInt64().Should().Be(3);
        report.GetProperty("byKind").GetProperty("unplanned_event").GetInt64().Should().Be(1);
        report.GetProperty("buckets").EnumerateArray().Sum(b => b.GetProperty("count").GetInt64()).Should().Be(3);
        var revenue = report.GetProperty("violations").EnumerateArray().Single(v => v.GetProperty("kind").GetString() == "invalid_property");
        revenue.GetProperty("source").GetString().Should().Be("web");
        revenue.GetProperty("type").GetString().Should().Be("track");
        var example = revenue.GetProperty("example");
        example.GetProperty("messageId").GetString().Should().Be("bad");
        example.GetProperty("value").GetString().Should().Be("99.99 XXX", "the example keeps the value's shape, not the value");
        example.GetProperty("valueType").GetString().Should().Be("string");
        example.GetProperty("message").GetString().Should().Contain("properties.revenue");

        Kinds(await Violations(host, "?kind=unplanned_event")).Should().Equal("unplanned_event appointment booked  x1");
        Kinds(await Violations(host, "?source=other")).Should().BeEmpty();
        Kinds(await Violations(host, "?event=Order%20Completed&range=7d")).Should().HaveCount(2);
        (await host.AdminClient().GetAsync("/api/tracking-plans/violations?range=1y")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await host.AdminClient().GetAsync("/api/tracking-plans/violations?kind=typo")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await host.CreateClient().GetAsync("/api/tracking-plans/violations")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);

        var metrics = await host.AdminClient(CdpHost.AnalystKey).MetricsText();
        metrics.Should().MatchRegex("cdp_tracking_plan_violations_total\\{[^}]*kind=\"invalid_property\"[^}]*source=\"web\"[^}]*\\} 1");
    }

    [SkippableFact]
    public async Task Omit_stores_the_call_without_its_unplanned_and_invalid_properties_and_records_them()
    {
        using var host = new CdpHost(Settings("Omit"));
        await Send(host, MixedBatch);

        var logged = Logged(host);
        logged.Keys.Should().BeEquivalentTo(["ok", "unplanned", "bad", "who"], "Omit stores every call; an unplanned event follows OnUnplannedEvent (Report)");
        logged["bad"].GetProperty("properties").EnumerateObject().Select(p => p.Name).Should().Equal(["currency"], "revenue (invalid) and coupon (unplanned) were omitted");
        logged["bad"].GetProperty("event").GetString().Should().Be("Order Completed");
        logged["ok"].GetProperty("properties").GetProperty("clinic").GetString().Should().Be("North");
        Kinds(await Violations(host)).Should().HaveCount(3);
    }

    [SkippableFact]
    public async Task Block_dead_letters_the_violating_calls_with_their_reasons_and_stores_the_rest_of_the_batch()
    {
        using var host = new CdpHost(Settings("Block", onUnplanned: "Block"));
        await Send(host, MixedBatch);

        Logged(host).Keys.Should().BeEquivalentTo(["ok", "who"]);
        var letters = await DeadLetters(host);
        letters.Should().HaveCount(2);
        var reasons = string.Join("\n", letters.SelectMany(l => l.GetProperty("errors").EnumerateArray()).Select(e => e.GetProperty("field").GetString() + ": " + e.GetProperty("message").GetString()));
        reasons.Should().Contain("properties.revenue").And.Contain("properties.coupon").And.Contain("'appointment booked' is not an event of tracking plan 'clinic'")
            .And.Contain("blocked by the source's tracking plan");
        Kinds(await Violations(host)).Should().HaveCount(3, "blocked calls' violations are recorded too");
    }

    [SkippableFact]
    public async Task Single_calls_on_every_path_are_checked_like_batch_items()
    {
        using var host = new CdpHost(Settings("Block", onUnplanned: "Block"));
        var client = host.TrackingClient();
        foreach (var (path, body) in new[]
        {
            ("/v1/track", """{"messageId":"t-bad","userId":"u","event":"Appointment Booked","properties":{"clinic":"N","voucher":"X"}}"""),
            ("/v1/t", """{"messageId":"t-short","userId":"u","event":"appointment booked"}"""),
            ("/v1/identify", """{"messageId":"i-bad","userId":"u","traits":{"plan":"platinum"}}"""),
            ("/v1/group", """{"messageId":"g-bad","userId":"u","groupId":"g","traits":{}}"""),
            ("/v1/track", """{"messageId":"t-ok","userId":"u","event":"Appointment Booked","properties":{"clinic":"N"}}"""),
            ("/v1/identify", """{"messageId":"i-ok","userId":"u","traits":{"plan":"gold"}}"""),
        })
        {
            var response = await client.PostAsync(path, TrackingApiTests.Json(body));
            response.StatusCode.Should().Be(HttpStatusCode.OK, path);
        }
        Logged(host).Keys.Should().BeEquivalentTo(["t-ok", "i-ok"], "the route gives a single call its type, which its body need not repeat");
        (await DeadLetters(host)).Should().HaveCount(4);
    }

    [SkippableFact]
    public async Task Unplanned_events_can_be_allowed_while_invalid_properties_are_still_blocked()
    {
        using var host = new CdpHost(Settings("Block", onUnplanned: "Allow"));
        await Send(host, MixedBatch);
        Logged(host).Keys.Should().BeEquivalentTo(["ok", "unplanned", "who"]);
        Kinds(await Violations(host)).Should().Equal(
            "invalid_property Order Completed properties.revenue x1",
            "unplanned_property Order Completed properties.coupon x1");
    }

    [SkippableFact]
    public async Task A_strict_source_answers_400_for_a_blocked_call_and_stores_nothing_of_the_request()
    {
        using var host = new CdpHost(Settings("Block", strict: true));
        var response = await host.TrackingClient().PostAsync("/v1/batch", TrackingApiTests.Json(MixedBatch));
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("properties.revenue");
        Logged(host).Should().BeEmpty();
    }

    [SkippableFact]
    public async Task A_source_without_a_plan_is_not_checked_and_the_violations_survive_a_restart()
    {
        using var folder = new TempFolder();
        var settings = Settings("Report");
        settings["Cdp:Sources:shop:WriteKey"] = "test-write-key-shop";
        using (var host = new CdpHost(settings, folder))
        {
            await Send(host, MixedBatch);
            (await host.TrackingClient("test-write-key-shop").PostAsync("/v1/track", TrackingApiTests.Json("""{"userId":"u","event":"Whatever","properties":{"x":1}}"""))).EnsureSuccessStatusCode();
            Kinds(await Violations(host)).Should().HaveCount(3, "the shop source has no plan");
        }
        using (var restarted = new CdpHost(settings, folder))
        {
            var report = await Violations(restarted);
            report.GetProperty("total").GetInt64().Should().Be(3, "the counts were written to the database");
            var plans = await restarted.AdminClient().GetFromJsonAsync<JsonElement>("/api/tracking-plans");
            var clinic = plans.GetProperty("plans").EnumerateArray().Single();
            clinic.GetProperty("name").GetString().Should().Be("clinic");
            clinic.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("name").GetString()).Should().Equal("Appointment Booked", "Newsletter Opened", "Order Completed");
            clinic.GetProperty("sources").EnumerateArray().Single().GetProperty("source").GetString().Should().Be("web");
        }
    }

    [SkippableFact]
    public async Task A_plan_written_inline_in_appsettings_checks_like_a_file()
    {
        using var host = new CdpHost(new Dictionary<string, string?>
        {
            ["Cdp:TrackingPlans:shop:events:Order Completed:properties:type"] = "object",
            ["Cdp:TrackingPlans:shop:events:Order Completed:properties:properties:revenue:type"] = "number",
            ["Cdp:TrackingPlans:shop:events:Order Completed:properties:properties:revenue:minimum"] = "0",
            ["Cdp:TrackingPlans:shop:events:Order Completed:properties:required:0"] = "revenue",
            ["Cdp:Sources:web:TrackingPlan"] = "shop",
            ["Cdp:Sources:web:OnViolation"] = "Block",
        });
        await Send(host, """{"batch":[{"type":"track","messageId":"a","userId":"u","event":"Order Completed","properties":{"revenue":5}},""" +
            """{"type":"track","messageId":"b","userId":"u","event":"Order Completed","properties":{"revenue":-5}},""" +
            """{"type":"track","messageId":"c","userId":"u","event":"Order Completed","properties":{}}]}""");
        Logged(host).Keys.Should().BeEquivalentTo(["a"], "minimum 0 was read as a number and required as a list");
    }

    private static readonly string[] PlanSeeds =
    [
        """{"batch":[{"type":"track","userId":"u1","event":"Order Completed","properties":{"revenue":12.5,"currency":"EUR","products":[{"sku":"a","price":1},{"sku":"b"}]},"context":{"traits":{"email":"a@b.co"}}},{"type":"identify","userId":"u1","traits":{"email":"x@y.z","plan":"gold","age":33}}],"context":{"traits":{"email":"batch@b.co"}}}""",
        """{"batch":[{"type":"track","anonymousId":"a1","event":"Appointment Booked","properties":{"clinic":"North","when":"2026-12-01T10:00:00Z","\u0000odd":1}},{"type":"group","userId":"u2","groupId":"g","traits":{"name":"Acme","\ud83d\ude00":true}}]}""",
        """{"batch":[{"type":"track","userId":"u3","event":"Order Completed","properties":{"revenue":"12.50 EUR","coupon":{"deep":[1,{"x":null}]},"products":"none"},"context":{"traits":[1,2]}},{"type":"identify","userId":"u3","traits":null}]}""",
    ];

    [SkippableFact]
    public async Task Mutated_calls_against_a_plan_in_Omit_mode_never_get_a_5xx_and_everything_stored_stays_readable_and_processable()
    {
        using var host = new CdpHost(Settings("Omit"));
        var rng = new Random(20261205);
        var client = host.TrackingClient();
        var statuses = new Dictionary<HttpStatusCode, int>();
        for (var i = 0; i < 1500; i++)
        {
            var body = HostileInputTests.Mutate(rng, System.Text.Encoding.UTF8.GetBytes(PlanSeeds[rng.Next(PlanSeeds.Length)]));
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            using var response = await client.PostAsync("/v1/batch", content);
            statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;
            ((int)response.StatusCode).Should().BeLessThan(500, System.Text.Encoding.UTF8.GetString(body));
        }
        statuses.Keys.Should().Contain(HttpStatusCode.OK).And.Contain(HttpStatusCode.BadRequest);

        var logged = host.Service<IEventLog>().ReadAfter(0, 100_000);
        logged.Should().NotBeEmpty();
        foreach (var e in logged) JsonDocument.Parse(e.Json).Dispose(); // every stored call (omitted ones rewritten) is JSON
        await AdminReads.CaughtUp(host.AdminClient());
        (await host.AdminClient().GetFromJsonAsync<JsonElement>("/api/profiles/processor/failures")).GetProperty("count").GetInt64()
            .Should().Be(0, "no stored call makes the processor fail");
        var report = await Violations(host, "?range=7d");
        report.GetProperty("total").GetInt64().Should().BeGreaterThan(0);
        (await host.CreateClient().GetAsync("/health/ready")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private static void Validate(TempFolder folder, params string[] settings)
    {
        var app = Cdp.Host.CdpApp.CreateBuilder(["--environment=Development", $"--Cdp:Storage:Path={folder.File("cdp.db")}", .. settings]).Build();
        using (app as IDisposable) Cdp.Host.CdpApp.ValidateSettings(app.Services);
    }

    [Theory]
    [InlineData("--Cdp:Sources:website:TrackingPlan=nowhere", "Cdp:Sources:website:TrackingPlan", "'nowhere' is not a plan of Cdp:TrackingPlans")]
    [InlineData("--Cdp:Sources:website:OnViolation=Drop", "Cdp:Sources:website:OnViolation", "use Report, Omit or Block")]
    [InlineData("--Cdp:Sources:website:OnUnplannedEvent=Omit", "Cdp:Sources:website:OnUnplannedEvent", "use Report, Allow or Block")]
    [InlineData("--Cdp:TrackingPlans:clinic:File=missing-plan.json", "Cdp:TrackingPlans:clinic:File", "does not exist")]
    [InlineData("--Cdp:TrackingPlans:clinic:events:A:properties:type=5", "Cdp:TrackingPlans:clinic", "events.A.properties is not a valid JSON Schema")]
    public void A_bad_tracking_plan_setting_stops_the_start_naming_the_setting(string setting, string key, string message)
    {
        using var folder = new TempFolder();
        var validate = () => Validate(folder, setting);
        validate.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain(key).And.Contain(message);
    }

    [Fact]
    public void A_plan_file_that_is_not_json_stops_the_start_naming_the_file()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("plan.json"), "{ \"events\": ");
        var validate = () => Validate(folder, $"--Cdp:TrackingPlans:p:File={folder.File("plan.json")}");
        validate.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Cdp:TrackingPlans:p:File").And.Contain("is not valid JSON");
    }
}
