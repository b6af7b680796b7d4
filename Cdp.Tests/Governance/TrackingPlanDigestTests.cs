using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Governance.Audit;
using Cdp.Tests.Collection;
using Cdp.Tests.Collection.TrackingPlans;
using Cdp.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Governance;

/// <summary>The optional daily digest of tracking plan violations in the audit log.</summary>
public sealed class TrackingPlanDigestTests
{
    [SkippableFact]
    public async Task The_digest_writes_one_audit_record_counting_the_day_s_violations_most_frequent_first_without_their_values()
    {
        using var host = new CdpHost(new Dictionary<string, string?>
        {
            ["Cdp:TrackingPlans:clinic:File"] = TrackingPlanCheckTests.ClinicPlanPath,
            ["Cdp:Sources:web:TrackingPlan"] = "clinic",
            ["Cdp:Governance:TrackingPlanDigestSchedule"] = "0 6 * * *",
        });
        (await host.TrackingClient().PostAsync("/v1/batch", TrackingApiTests.Json("""
            {"batch":[
              {"type":"track","userId":"u1","event":"Order Completed","properties":{"revenue":"12.50 EUR"}},
              {"type":"track","userId":"u2","event":"Order Completed","properties":{"revenue":"9 GBP"}},
              {"type":"track","userId":"u3","event":"appointment booked","properties":{}}
            ]}
            """))).EnsureSuccessStatusCode();

        (await host.AdminClient().GetStringAsync("/api/scheduling/recurring")).Should().Contain("\"id\":\"tracking-plan-digest\"", "the schedule adds the recurring job");
        host.Service<TrackingPlanDigest>().Write();

        var page = await host.AdminClient().GetFromJsonAsync<JsonElement>("/api/audit?limit=100&actor=" + Uri.EscapeDataString(TrackingPlanDigest.Actor));
        var digest = page.GetProperty("items").EnumerateArray().Should().ContainSingle().Subject;
        digest.GetProperty("path").GetString().Should().Be(TrackingPlanDigest.Path);
        digest.GetProperty("count").GetInt64().Should().Be(3);
        var action = digest.GetProperty("action").GetString();
        action.Should().Contain(": 3; web Order Completed properties.revenue invalid_property x2; web appointment booked unplanned_event x1")
            .And.NotContain("12.50").And.NotContain("EUR");
    }

    [Fact]
    public void Without_a_schedule_there_is_no_digest_job_and_a_bad_schedule_stops_the_start_naming_it()
    {
        using var folder = new TempFolder();
        var app = Cdp.Host.CdpApp.CreateBuilder(["--environment=Development", $"--Cdp:Storage:Path={folder.File("cdp.db")}",
            "--Cdp:Governance:TrackingPlanDigestSchedule=every day"]).Build();
        using (app as IDisposable)
        {
            var validate = () => Cdp.Host.CdpApp.ValidateSettings(app.Services);
            validate.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Cdp:Governance:TrackingPlanDigestSchedule");
        }
        var quiet = Cdp.Host.CdpApp.CreateBuilder(["--environment=Development", $"--Cdp:Storage:Path={folder.File("cdp.db")}"]).Build();
        using (quiet as IDisposable)
            quiet.Services.GetServices<Cdp.Modules.Scheduling.Contracts.IRecurringJobSource>().SelectMany(s => s.RecurringJobs())
                .Select(j => j.Id).Should().NotContain(TrackingPlanDigest.KindName);
    }
}
