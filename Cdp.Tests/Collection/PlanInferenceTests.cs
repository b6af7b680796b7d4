using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.TrackingPlans;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Identity;
using Cdp.Tests.Segments;
using Cdp.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Tests.Collection;

/// <summary>
/// <c>tracking-plan infer</c> (Collection/TrackingPlans/PlanInference, Cdp.Host/Cli/TrackingPlanVerb): the draft of a log
/// parses as a plan, checks that very log without a violation and flags near-duplicate names; the verb as a process
/// writes the file, refuses an unknown source and reads only the events received since the age it is given.
/// </summary>
public sealed class PlanInferenceTests
{
    public static TheoryData<string> Providers => CdpHost.Providers;

    /// <summary>The journey's log, with bookings and a group call added, and one planted near-duplicate event name.</summary>
    private static async Task MakeLog(CdpHost host)
    {
        await JourneyTests.SendJourney(host);
        var web = host.TrackingClient();
        await web.Send("track", """{"userId":"u-jane","event":"Appointment Booked","properties":{"clinic":"north","service":"dermatology","price":80},"context":{"traits":{"email":"jane.doe@example.com"}}}""");
        await web.Send("track", """{"userId":"u-bob","event":"Appointment Booked","properties":{"clinic":"south","price":95.5,"referral":null}}""");
        await web.Send("group", """{"userId":"u-bob","groupId":"acme","traits":{"name":"Acme Clinics","address":{"city":"Springfield"}}}""");
        await web.Send("track", """{"userId":"u-cy","event":"appointment booked","properties":{"clinic":"east"}}"""); // planted
    }

    private static IReadOnlyList<PlanViolation> Check(TrackingPlan plan, LoggedEvent e)
    {
        using var call = JsonDocument.Parse(e.Json);
        return plan.Check(call.RootElement);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_draft_of_the_journey_log_parses_checks_every_call_of_that_log_without_a_violation_and_flags_the_planted_near_duplicate(string provider)
    {
        using var host = await CdpHost.OnAsync(provider);
        await MakeLog(host);
        var log = host.Service<IEventLog>().ReadAfter(0, 1_000);
        var inference = host.Service<ITrackingPlanInference>();

        foreach (var source in new[] { "web", "crm" })
        {
            var draft = inference.Infer(source, DateTime.UtcNow.AddHours(-1));
            var plan = TrackingPlan.Parse(source, JsonDocument.Parse(draft.Plan).RootElement);
            var calls = log.Where(e => e.Source == source).ToList();
            calls.Should().NotBeEmpty();
            draft.Calls.Should().Be(calls.Count);
            draft.EventsRead.Should().Be(log.Count, "the log's every source is read, and skipped when not the one asked");
            foreach (var e in calls)
                Check(plan, e).Should().BeEmpty($"the draft of {source} plans its own call {System.Text.Encoding.UTF8.GetString(e.Json.Span)}");
        }

        var web = inference.Infer("web", DateTime.UtcNow.AddHours(-1));
        var webPlan = TrackingPlan.Parse("web", JsonDocument.Parse(web.Plan).RootElement);
        webPlan.Events.Keys.Should().BeEquivalentTo("Email Clicked", "Appointment Booked", "appointment booked");
        web.TrackEvents.Should().Be(3);
        web.NearDuplicates.Should().ContainSingle().Which.Should().BeEquivalentTo(
            new NearDuplicateNames("events", ["Appointment Booked", "appointment booked"], [2, 1]), o => o.WithStrictOrdering());
        var json = JsonDocument.Parse(web.Plan).RootElement;
        json.GetProperty("nearDuplicates").Deserialize<string[][]>().Should().BeEquivalentTo(
            new[] { new[] { "Appointment Booked", "appointment booked" } }, o => o.WithStrictOrdering());
        webPlan.Events["Appointment Booked"].Description.Should().Contain("near-duplicate of 'appointment booked' (1 call)");
        webPlan.Events["appointment booked"].Description.Should().Contain("near-duplicate of 'Appointment Booked' (2 calls)");
        webPlan.Events["Email Clicked"].Description.Should().NotContain("near-duplicate");

        var crm = inference.Infer("crm", DateTime.UtcNow.AddHours(-1));
        crm.TrackEvents.Should().Be(0);
        crm.NearDuplicates.Should().BeEmpty();
    }

    [SkippableFact]
    public async Task A_source_pointed_at_its_own_draft_with_Block_takes_the_same_calls_again_without_a_violation_or_a_dead_letter()
    {
        using var plans = new TempFolder();
        var file = plans.File("web.json");
        List<string> calls;
        using (var first = new CdpHost())
        {
            await MakeLog(first);
            await File.WriteAllTextAsync(file, first.Service<ITrackingPlanInference>().Infer("web", DateTime.UtcNow.AddHours(-1)).Plan);
            calls = [.. first.Service<IEventLog>().ReadAfter(0, 1_000).Where(e => e.Source == "web").Select(e => System.Text.Encoding.UTF8.GetString(e.Json.Span))];
        }

        using var second = new CdpHost(new Dictionary<string, string?>
        {
            ["Cdp:TrackingPlans:draft:File"] = file,
            ["Cdp:Sources:web:TrackingPlan"] = "draft",
            ["Cdp:Sources:web:OnViolation"] = "Block",
            ["Cdp:Sources:web:OnUnplannedEvent"] = "Block",
        });
        // the logged calls, each with its type, sent again as one batch
        await second.TrackingClient().SendBatch(calls);

        second.Service<IEventLog>().ReadAfter(0, 1_000).Should().HaveCount(calls.Count, "the plan blocks none of the calls it was drafted from");
        var admin = second.AdminClient();
        (await admin.GetFromJsonAsync<JsonElement>("/api/collection/dead-letters")).GetProperty("items").GetArrayLength().Should().Be(0);
        (await admin.GetFromJsonAsync<JsonElement>("/api/tracking-plans/violations")).GetProperty("total").GetInt64().Should().Be(0);

        // the plan is in force: a property it never saw is blocked
        await second.TrackingClient().SendBatch(["""{"type":"track","userId":"u-jane","event":"Appointment Booked","properties":{"clinic":"north","voucher":"X1"}}"""]);
        (await admin.GetFromJsonAsync<JsonElement>("/api/collection/dead-letters")).GetProperty("items").GetArrayLength().Should().Be(1);
    }

    /// <summary>Calls as the log keeps them (type, messageId... left out: the draft reads only type, event, properties and traits).</summary>
    private static readonly string[] Calls =
    [
        """{"type":"track","event":"Appointment Booked","properties":{"clinic":"north","price":80,"service":"skin"},"context":{"traits":{"email":"a@example.com"}}}""",
        """{"type":"track","event":"Appointment Booked","properties":{"clinic":"south","price":95.5,"referral":null}}""",
        """{"type":"track","event":"appointment_booked","properties":{"clinic":"east"}}""",
        """{"type":"track","event":"Order Completed","properties":{"orderId":"1","total":{"amount":3}}}""",
        """{"type":"track","event":"Order Completed","properties":{"order_id":"2","total":{"amount":4},"items":[1]}}""",
        """{"type":"track","event":"Signed Up"}""",
        """{"type":"identify","traits":{"email":"x@example.com","age":3}}""",
        """{"type":"identify","traits":{"email":null}}""",
        """{"type":"group","groupId":"acme","traits":{"name":"Acme","address":{"city":"X"}}}""",
        """{"type":"page","name":"Home","properties":{"path":"/"}}""",
    ];

    private static (JsonElement Json, TrackingPlan Plan, PlanDraft Draft) Draft()
    {
        var draft = new PlanDraft();
        foreach (var c in Calls) draft.Add(JsonDocument.Parse(c).RootElement);
        var json = JsonDocument.Parse(draft.ToPlan("test").ToJsonString()).RootElement;
        return (json, TrackingPlan.Parse("draft", json), draft);
    }

    private static string Types(JsonElement schema, string property) =>
        schema.GetProperty("properties").GetProperty(property).GetProperty("type").GetRawText();

    private static string About(JsonElement schema, string property) =>
        schema.GetProperty("properties").GetProperty(property).GetProperty("description").GetString()!;

    private static string[] Required(JsonElement schema) => [.. schema.GetProperty("required").EnumerateArray().Select(r => r.GetString()!)];

    [Fact]
    public void Each_property_gets_its_observed_types_with_integers_as_numbers_and_null_when_seen_and_only_names_of_every_call_are_required()
    {
        var (json, _, draft) = Draft();
        draft.Calls.Should().Be(Calls.Length);
        var booked = json.GetProperty("events").GetProperty("Appointment Booked");
        var properties = booked.GetProperty("properties");
        properties.GetProperty("type").GetString().Should().Be("object");
        Types(properties, "clinic").Should().Be("\"string\"");
        Types(properties, "price").Should().Be("\"number\"", "80 and 95.5 are both numbers");
        Types(properties, "referral").Should().Be("\"null\"");
        About(properties, "clinic").Should().Be("seen in 100% of 2 calls");
        About(properties, "service").Should().Be("seen in 50% of 2 calls");
        Required(properties).Should().Equal("clinic", "price");
        var contextTraits = booked.GetProperty("contextTraits");
        Types(contextTraits, "email").Should().Be("\"string\"");
        Required(contextTraits).Should().BeEmpty("one booking came without context.traits");

        var order = json.GetProperty("events").GetProperty("Order Completed").GetProperty("properties");
        Types(order, "total").Should().Be("\"object\"");
        order.GetProperty("properties").GetProperty("total").TryGetProperty("properties", out _).Should().BeFalse("nested objects are not listed");
        Types(order, "items").Should().Be("\"array\"");
        Required(order).Should().Equal("total");
        json.GetProperty("events").GetProperty("Order Completed").TryGetProperty("contextTraits", out _).Should().BeFalse("no call had context.traits");

        var signedUp = json.GetProperty("events").GetProperty("Signed Up");
        signedUp.GetProperty("properties").GetProperty("properties").EnumerateObject().Should().BeEmpty();
        signedUp.GetProperty("description").GetString().Should().Be("seen in 1 call");

        var identify = json.GetProperty("identifyTraits");
        Types(identify, "email").Should().Be("""["string","null"]""");
        Types(identify, "age").Should().Be("\"number\"");
        Required(identify).Should().Equal("email");
        Types(json.GetProperty("groupTraits"), "address").Should().Be("\"object\"");
    }

    [Fact]
    public void Near_duplicate_event_and_property_names_are_flagged_in_the_draft_and_its_descriptions()
    {
        var (json, _, draft) = Draft();
        json.GetProperty("nearDuplicates").GetRawText().Should().Be("""[["Appointment Booked","appointment_booked"]]""");
        json.GetProperty("events").GetProperty("Appointment Booked").GetProperty("description").GetString()
            .Should().Be("seen in 2 calls; near-duplicate of 'appointment_booked' (1 call)");
        json.GetProperty("events").GetProperty("appointment_booked").GetProperty("description").GetString()
            .Should().Be("seen in 1 call; near-duplicate of 'Appointment Booked' (2 calls)");
        var properties = json.GetProperty("nearDuplicateProperties");
        properties.GetArrayLength().Should().Be(1);
        properties[0].GetProperty("in").GetString().Should().Be("events.Order Completed.properties");
        properties[0].GetProperty("names").GetRawText().Should().Be("""["orderId","order_id"]""");
        About(json.GetProperty("events").GetProperty("Order Completed").GetProperty("properties"), "orderId")
            .Should().Be("seen in 50% of 2 calls; near-duplicate of 'order_id' (1 call)");
        draft.NearDuplicates().Select(n => n.Where).Should().Equal("events", "events.Order Completed.properties");
        PlanDraft.Folded("Appointment Booked").Should().Be(PlanDraft.Folded("appointment-booked!")).And.Be("appointmentbooked");
    }

    [Fact]
    public void The_draft_parses_and_checks_each_call_it_was_made_from_without_a_violation()
    {
        var (_, plan, _) = Draft();
        plan.Events.Keys.Should().BeEquivalentTo("Appointment Booked", "appointment_booked", "Order Completed", "Signed Up");
        foreach (var call in Calls)
            plan.Check(JsonDocument.Parse(call).RootElement).Should().BeEmpty(call);
        plan.Check(JsonDocument.Parse("""{"type":"track","event":"Appointment Booked","properties":{"price":"80"}}""").RootElement)
            .Select(v => v.Kind).Should().Contain([ViolationKinds.MissingProperty, ViolationKinds.InvalidProperty], "the draft is a plan: it refuses what was never seen");
    }

    // ---- the verb, as a process ----

    private static async Task<(int Code, string Output, string Error)> Run(string folder, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = folder };
        info.ArgumentList.Add(CdpProcess.HostDll);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>The host's storage on the default provider (CDP_TEST_PROVIDER), as settings of the host and of the verb.</summary>
    private static async Task<Dictionary<string, string?>> Storage() => CdpHost.DefaultProvider == StorageProviders.PostgreSql
        ? new() { ["Cdp:Storage:Provider"] = StorageProviders.PostgreSql, ["Cdp:Storage:ConnectionString"] = await PostgresServer.CreateDatabaseAsync() }
        : new() { ["Cdp:Storage:Provider"] = StorageProviders.LiteDb };

    private static string[] VerbSettings(TempFolder folder, Dictionary<string, string?> storage) =>
    [
        $"--Cdp:Storage:Path={folder.File("cdp.db")}", .. storage.Select(s => $"--{s.Key}={s.Value}"),
        $"--Cdp:Sources:web:WriteKey={CdpHost.WriteKey}", $"--Cdp:Sources:crm:WriteKey={CdpHost.StrictWriteKey}", "--Cdp:Sources:crm:Strict=true",
    ];

    [SkippableFact]
    public async Task The_verb_writes_the_plan_file_reads_only_events_received_since_the_age_given_and_prints_the_plan_without_out()
    {
        using var folder = new TempFolder();
        var storage = await Storage();
        var now = DateTimeOffset.UtcNow;
        var clock = new ManualClock(now.AddDays(-40));
        using (var host = new CdpHost(storage, folder, s => s.AddSingleton<TimeProvider>(clock)))
        {
            await host.TrackingClient().Send("track", """{"userId":"u-old","event":"Old Campaign Opened","properties":{"campaign":"spring"}}""");
            clock.Set(now);
            await MakeLog(host);
        }
        var settings = VerbSettings(folder, storage);
        var file = folder.File("web-plan.json");

        var (code, output, error) = await Run(folder.Path, ["tracking-plan", "infer", "--source", "web", "--out", file, .. settings]);

        code.Should().Be(0, output + error);
        output.Should().Contain($"wrote {file}: 3 track events from").And.Contain("calls of source 'web'")
            .And.Contain("near-duplicates: 1").And.Contain("events: 'Appointment Booked' (2) ~ 'appointment booked' (1)");
        var written = JsonDocument.Parse(await File.ReadAllTextAsync(file)).RootElement;
        var events = written.GetProperty("events").EnumerateObject().Select(e => e.Name).ToList();
        events.Should().BeEquivalentTo(["Email Clicked", "Appointment Booked", "appointment booked"], "the old event is 40 days old: before the default 30d");
        TrackingPlan.Parse("web", written).Events.Should().HaveCount(3);

        (code, output, error) = await Run(folder.Path, ["tracking-plan", "infer", "--source", "web", "--since", "60d", .. settings]);

        code.Should().Be(0, output + error);
        var printed = JsonDocument.Parse(output).RootElement; // stdout is the plan alone: the summary and log lines go to stderr
        printed.GetProperty("events").EnumerateObject().Select(e => e.Name).Should().Contain("Old Campaign Opened");
        error.Should().Contain("near-duplicates: 1");

        (code, output, error) = await Run(folder.Path, ["tracking-plan", "infer", "--source", "web", "--since", "90m", .. settings]);
        code.Should().Be(0, output + error);
        JsonDocument.Parse(output).RootElement.GetProperty("events").EnumerateObject().Select(e => e.Name).Should().NotContain("Old Campaign Opened");
    }

    [SkippableFact]
    public async Task The_verb_refuses_an_unknown_source_naming_the_configured_ones_and_an_age_it_cannot_read()
    {
        using var folder = new TempFolder();
        var settings = VerbSettings(folder, await Storage());

        var (code, output, error) = await Run(folder.Path, ["tracking-plan", "infer", "--source", "website", .. settings]);

        code.Should().Be(1, output + error);
        error.Should().Contain("unknown source 'website'").And.Contain("'crm', 'web'");
        output.Should().BeEmpty();

        (code, output, error) = await Run(folder.Path, ["tracking-plan", "infer", "--source", "web", "--since", "30x", .. settings]);
        code.Should().Be(1, output + error);
        error.Should().Contain("--since '30x'").And.Contain("e.g. 30d, 12h or 90m");
    }
}
