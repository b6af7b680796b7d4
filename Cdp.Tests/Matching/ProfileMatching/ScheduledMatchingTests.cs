using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Scheduling.Contracts;
using Cdp.Tests.Scheduling;
using Cdp.Tests.Support;
using Hangfire.States;
using static Cdp.Tests.Matching.ProfileMatching.MatchingHost;

namespace Cdp.Tests.Matching.ProfileMatching;

public sealed class ScheduledMatchingTests
{
    [Fact]
    public async Task The_Schedule_setting_adds_the_identity_matching_recurring_job_which_runs_an_incremental_match()
    {
        using var host = Start(FastScheduling.Settings(("Cdp:Identity:Matching:Schedule", "0 3 * * *")));
        await host.Seed(Jon, John);
        var admin = host.AdminClient();
        var recurring = await admin.GetFromJsonAsync<JsonElement>("/api/scheduling/recurring");
        recurring.GetRawText().Should().Contain("identity-matching").And.Contain("0 3 * * *");

        var jobs = host.Service<IBackgroundJobs>();
        var jobId = jobs.TriggerRecurring("identity-matching");
        jobId.Should().NotBeNull();
        await FastScheduling.Until(() => jobs.StateOf(jobId!) == SucceededState.StateName, "the matching job to succeed", explain: () => jobs.StateOf(jobId!) ?? "?");

        var run = (await admin.GetFromJsonAsync<JsonElement>("/api/identity/matching/runs")).GetProperty("runs").EnumerateArray().Single();
        run.GetProperty("trigger").GetString().Should().Be("schedule");
        run.GetProperty("full").GetBoolean().Should().BeFalse();
        run.Int("autoMerged").Should().Be(1);
        (await admin.ProfileId("anonymous_id:john")).Should().Be(await admin.ProfileId("anonymous_id:jon"));
    }
}
