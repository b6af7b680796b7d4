using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Scheduling.Hosting;
using Cdp.Tests.Scheduling;
using Cdp.Tests.Support;
using Hangfire.States;

namespace Cdp.Tests.Segments;

public sealed class SegmentSweepJobTests
{
    [Fact]
    public async Task The_segment_sweep_is_the_recurring_job_segment_sweep_on_its_schedule_and_runs_through_the_job_server()
    {
        using var host = new CdpHost(FastScheduling.Settings(("Cdp:SegmentEvaluation:SweepSchedule", "5 0 * * *")));
        var admin = host.AdminClient();
        async Task<JsonElement> Seed() => (await admin.GetFromJsonAsync<JsonElement>("/api/segments/dermatology-no-booking"));
        (await Seed()).GetProperty("lastSweep").ValueKind.Should().Be(JsonValueKind.Null, "no sweep runs in-process any more: nothing swept before the job");

        var job = host.Service<RecurringJobCatalog>().List().Should().ContainSingle(r => r.Id == "segment-sweep").Subject;
        job.Cron.Should().Be("5 0 * * *");
        job.TimeZoneId.Should().Be("UTC");

        var jobs = host.Service<IBackgroundJobs>();
        var jobId = jobs.TriggerRecurring("segment-sweep");
        jobId.Should().NotBeNull();
        await Eventually.Until(() => jobs.StateOf(jobId!) == SucceededState.StateName, "the sweep job to succeed", explain: () => jobs.StateOf(jobId!) ?? "?");
        (await Seed()).GetProperty("lastSweep").ValueKind.Should().Be(JsonValueKind.String);
    }

    [Fact]
    public async Task An_empty_sweep_schedule_leaves_no_sweep_job_and_another_recurring_job_can_run_the_sweep()
    {
        using var host = new CdpHost(FastScheduling.Settings(
            ("Cdp:SegmentEvaluation:SweepSchedule", ""),
            ("Cdp:Scheduling:RecurringJobs:nightly-sweep:Kind", "segment-sweep"),
            ("Cdp:Scheduling:RecurringJobs:nightly-sweep:Cron", "5 0 * * *")));
        host.Service<RecurringJobCatalog>().List().Select(r => r.Id).Should().NotContain("segment-sweep").And.Contain("nightly-sweep");

        var jobs = host.Service<IBackgroundJobs>();
        var jobId = jobs.TriggerRecurring("nightly-sweep");
        await Eventually.Until(() => jobs.StateOf(jobId!) == SucceededState.StateName, "the sweep job to succeed", explain: () => jobs.StateOf(jobId!) ?? "?");
        (await host.AdminClient().GetFromJsonAsync<JsonElement>("/api/segments/dermatology-no-booking")).GetProperty("lastSweep").ValueKind.Should().Be(JsonValueKind.String);
    }
}
