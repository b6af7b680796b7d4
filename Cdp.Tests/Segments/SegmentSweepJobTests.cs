using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Scheduling.Contracts;
using Cdp.Tests.Scheduling;
using Cdp.Tests.Support;
using Hangfire.States;

namespace Cdp.Tests.Segments;

public sealed class SegmentSweepJobTests
{
    [Fact]
    public async Task The_segment_sweep_runs_as_a_configured_recurring_job()
    {
        using var host = new CdpHost(FastScheduling.Settings(
            ("Cdp:SegmentEvaluation:DailySweep", "false"),
            ("Cdp:Scheduling:RecurringJobs:nightly-sweep:Kind", "segment-sweep"),
            ("Cdp:Scheduling:RecurringJobs:nightly-sweep:Cron", "5 0 * * *")));
        var admin = host.AdminClient();
        async Task<JsonElement> Seed() => (await admin.GetFromJsonAsync<JsonElement>("/api/segments/dermatology-no-booking"));
        (await Seed()).GetProperty("lastSweep").ValueKind.Should().Be(JsonValueKind.Null, "DailySweep is off and nothing swept yet");

        var jobs = host.Service<IBackgroundJobs>();
        var jobId = jobs.TriggerRecurring("nightly-sweep");
        jobId.Should().NotBeNull();
        await FastScheduling.Until(() => jobs.StateOf(jobId!) == SucceededState.StateName, "the sweep job to succeed", explain: () => jobs.StateOf(jobId!) ?? "?");
        (await Seed()).GetProperty("lastSweep").ValueKind.Should().Be(JsonValueKind.String);
    }
}
