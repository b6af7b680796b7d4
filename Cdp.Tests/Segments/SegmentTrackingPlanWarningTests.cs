using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cdp.Tests.Segments;

/// <summary>
/// Segments and computed traits on a track event or an event property that no source's tracking plan has are saved and
/// run all the same, with a warning: in the save's answer ("warnings"), in <c>check-config</c> (exit code unchanged) and,
/// for the configured ones, in the log at start.
/// </summary>
public sealed class SegmentTrackingPlanWarningTests
{
    /// <summary>The clinic's plan: "Appointment Booked" with clinic, "Order Completed" with revenue (the shipped computed traits' event).</summary>
    private const string ClinicPlan = """
        {
          "events": {
            "Appointment Booked": { "properties": { "type": "object", "properties": { "clinic": { "type": "string" } } } },
            "Order Completed": { "properties": { "type": "object", "properties": { "revenue": { "type": "number" } } } }
          }
        }
        """;

    /// <summary>The web source follows the clinic plan (a file in the host's data folder).</summary>
    private static Dictionary<string, string?> WithPlan(TempFolder folder)
    {
        File.WriteAllText(folder.File("clinic-plan.json"), ClinicPlan);
        return new Dictionary<string, string?>
        {
            ["Cdp:TrackingPlans:clinic:File"] = folder.File("clinic-plan.json"),
            ["Cdp:Sources:web:TrackingPlan"] = "clinic",
        };
    }

    private static async Task<JsonElement> Saved(HttpClient admin, string key, string where)
    {
        var response = await admin.PostAsJsonAsync("/api/segments", new { key, where });
        response.StatusCode.Should().Be(HttpStatusCode.Created, "a warning never refuses a save: " + await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static IReadOnlyList<string> Warnings(JsonElement answer) =>
        answer.TryGetProperty("warnings", out var w) ? w.EnumerateArray().Select(x => x.GetString()!).ToList() : [];

    [Fact]
    public async Task A_segment_on_a_planned_event_and_planned_property_is_saved_without_warnings()
    {
        using var folder = new TempFolder();
        using var host = new CdpHost(WithPlan(folder), folder);
        var saved = await Saved(host.AdminClient(), "north-bookers", "performed \"Appointment Booked\" where properties.clinic = \"North\" within 30d");
        saved.TryGetProperty("warnings", out _).Should().BeFalse("the field is absent when there is nothing to warn of");
    }

    [Fact]
    public async Task A_segment_on_an_event_no_plan_has_is_saved_with_a_warning_naming_the_event()
    {
        using var folder = new TempFolder();
        using var host = new CdpHost(WithPlan(folder), folder);
        var admin = host.AdminClient();
        var saved = await Saved(admin, "bookers", "performed \"appointment booked\" at least 2 times");
        Warnings(saved).Should().ContainSingle().Which.Should().Contain("appointment booked");

        // the segment is saved and shows the same warning when read
        var read = await admin.GetFromJsonAsync<JsonElement>("/api/segments/bookers");
        Warnings(read).Should().Equal(Warnings(saved));
    }

    [Fact]
    public async Task A_segment_on_a_property_the_event_s_plan_lacks_is_saved_with_a_warning_naming_the_property_and_so_is_its_update_and_preview()
    {
        using var folder = new TempFolder();
        using var host = new CdpHost(WithPlan(folder), folder);
        var admin = host.AdminClient();
        const string where = "performed \"Appointment Booked\" where properties.clinic = \"North\" and properties.location = \"West\"";
        var saved = await Saved(admin, "west-bookers", where);
        Warnings(saved).Should().ContainSingle("properties.clinic is planned").Which.Should().Contain("location");

        var updated = await admin.PutAsJsonAsync("/api/segments/west-bookers", new { where = where.Replace("location", "room") });
        updated.StatusCode.Should().Be(HttpStatusCode.OK);
        Warnings(await updated.Content.ReadFromJsonAsync<JsonElement>()).Should().ContainSingle().Which.Should().Contain("room");

        var preview = await admin.PostAsJsonAsync("/api/segments/preview", new { where });
        preview.StatusCode.Should().Be(HttpStatusCode.OK);
        Warnings(await preview.Content.ReadFromJsonAsync<JsonElement>()).Should().ContainSingle().Which.Should().Contain("location");
    }

    [Fact]
    public async Task Without_any_plan_configured_nothing_is_warned_of()
    {
        using var host = new CdpHost();
        var admin = host.AdminClient();
        var saved = await Saved(admin, "anything", "performed \"appointment booked\" where properties.location = \"West\"");
        saved.TryGetProperty("warnings", out _).Should().BeFalse();
        var preview = await admin.PostAsJsonAsync("/api/segments/preview", new { where = "performed \"whatever\"" });
        (await preview.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("warnings", out _).Should().BeFalse();
    }

    [Fact]
    public async Task Configured_segments_and_computed_traits_on_unplanned_events_or_properties_are_logged_as_warnings_at_start()
    {
        using var folder = new TempFolder();
        var settings = WithPlan(folder);
        settings["Cdp:Segments:west-bookers:Where"] = "performed \"Appointment Booked\" where properties.location = \"West\"";
        settings["Cdp:Profiles:ComputedTraits:cancellations:Kind"] = "Count";
        settings["Cdp:Profiles:ComputedTraits:cancellations:Event"] = "Appointment Cancelled";
        var log = new CapturedLog("SettingsWarningsLog", LogLevel.Warning);
        using var host = new CdpHost(settings, folder, s => s.AddSingleton<ILoggerProvider>(log));
        (await host.CreateClient().GetAsync("/health/live")).StatusCode.Should().Be(HttpStatusCode.OK, "warnings never stop the start");
        log.Lines.Should().HaveCount(2)
            .And.Contain(l => l.Contains("Cdp:Segments:west-bookers:Where: ") && l.Contains("location"))
            .And.Contain(l => l.Contains("Cdp:Profiles:ComputedTraits:cancellations:Event: ") && l.Contains("Appointment Cancelled"));
    }

    [Fact]
    public async Task Check_config_prints_the_warnings_of_a_config_segment_and_a_computed_trait_and_still_exits_0()
    {
        using var folder = new TempFolder();
        var settings = WithPlan(folder).Select(s => $"--{s.Key}={s.Value}");
        string[] arguments =
        [
            "check-config", $"--Cdp:Storage:Path={folder.File("cdp.db")}", "--Cdp:Sources:web:WriteKey=web-write-key-0123", .. settings,
            "--Cdp:Segments:west-bookers:Where=performed \"Appointment Booked\" where properties.location = \"West\"",
            "--Cdp:Profiles:ComputedTraits:clinic_visits:Kind=Count",
            "--Cdp:Profiles:ComputedTraits:clinic_visits:Event=Appointment Booked",
            "--Cdp:Profiles:ComputedTraits:clinic_visits:Where:room=A",
            "--Cdp:Profiles:ComputedTraits:cancellations:Kind=Count",
            "--Cdp:Profiles:ComputedTraits:cancellations:Event=Appointment Cancelled",
        ];
        var (exitCode, output) = await CdpProcess.RunToExitAsync(folder.Path, arguments);
        exitCode.Should().Be(0, output);
        var warnings = output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("warning: ", StringComparison.Ordinal)).ToList();
        warnings.Should().HaveCount(3, output)
            .And.Contain(l => l.StartsWith("warning: Cdp:Segments:west-bookers:Where: ") && l.Contains("location"))
            .And.Contain(l => l.StartsWith("warning: Cdp:Profiles:ComputedTraits:clinic_visits:Where:room: ") && l.Contains("room"))
            .And.Contain(l => l.StartsWith("warning: Cdp:Profiles:ComputedTraits:cancellations:Event: ") && l.Contains("Appointment Cancelled"));
        output.Should().Contain("appsettings are valid");
    }
}
