using System.Net;
using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Scheduling.Dashboard;
using Cdp.Tests.Support;
using Hangfire.States;

namespace Cdp.Tests.Scheduling;

/// <summary>Fast settings for hosts whose job server the tests watch.</summary>
internal static class FastScheduling
{
    public static Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Cdp:Scheduling:SchedulePollInterval"] = "00:00:00.200",
            ["Cdp:Scheduling:QueuePollInterval"] = "00:00:00.100",
            ["Cdp:Scheduling:WorkerCount"] = "4",
            ["Cdp:Scheduling:ShutdownTimeout"] = "00:00:02",
        };
        foreach (var (k, v) in extra) settings[k] = v;
        return settings;
    }

    /// <summary>Kept for the callers outside Scheduling: <see cref="Eventually.Until(Func{bool}, string, int, Func{string}?)"/>.</summary>
    public static Task Until(Func<bool> condition, string what, int seconds = 20, Func<string>? explain = null) =>
        Eventually.Until(condition, what, seconds, explain);
}

public sealed class SchedulingHostFixture : IDisposable
{
    public CdpHost Host { get; } = new(FastScheduling.Settings());

    public IBackgroundJobs Jobs => Host.Service<IBackgroundJobs>();

    public void Dispose() => Host.Dispose();
}

public sealed class SchedulingHostTests(SchedulingHostFixture fixture) : IClassFixture<SchedulingHostFixture>
{
    private static string Token() => Guid.NewGuid().ToString("N");

    private Task Succeeded(string jobId) =>
        Eventually.Until(() => fixture.Jobs.StateOf(jobId) == SucceededState.StateName, $"job {jobId} to succeed");

    [Fact]
    public async Task An_enqueued_job_runs_once_and_succeeds()
    {
        var token = Token();
        var id = fixture.Jobs.Enqueue<E2EJobs>(j => j.Record(token, "hello"));
        await Succeeded(id);
        E2EJobs.RunsOf(token).Should().Equal("hello");
    }

    [Fact]
    public async Task A_scheduled_job_waits_for_its_time_and_then_runs()
    {
        var token = Token();
        var id = fixture.Jobs.Schedule<E2EJobs>(j => j.Record(token, "later"), TimeSpan.FromSeconds(1));
        fixture.Jobs.StateOf(id).Should().Be(ScheduledState.StateName);
        await Succeeded(id);
        E2EJobs.RunsOf(token).Should().Equal("later");
    }

    [Fact]
    public async Task A_continuation_runs_after_its_parent_succeeded()
    {
        var token = Token();
        // far enough ahead that a busy machine cannot run the parent before the child's state is read
        var parent = fixture.Jobs.Schedule<E2EJobs>(j => j.Record(token, "parent"), TimeSpan.FromSeconds(3));
        var child = fixture.Jobs.ContinueWith<E2EJobs>(parent, j => j.Record(token, "child"));
        fixture.Jobs.StateOf(child).Should().Be(AwaitingState.StateName);
        await Succeeded(child);
        E2EJobs.RunsOf(token).Should().Equal("parent", "child");
    }

    [Fact]
    public async Task A_failing_job_is_retried_until_it_succeeds()
    {
        var token = Token();
        var id = fixture.Jobs.Enqueue<E2EJobs>(j => j.FailTwiceThenSucceed(token));
        await Succeeded(id);
        E2EJobs.Attempts[token].Should().Be(3);
        E2EJobs.RunsOf(token).Should().Equal("succeeded on attempt 3");
        var history = fixture.Host.Service<Hangfire.JobStorage>().GetMonitoringApi().JobDetails(id).History;
        history.Count(h => h.StateName == FailedState.StateName).Should().Be(2);
    }

    [Fact]
    public async Task Jobs_marked_DisableConcurrentExecution_never_overlap()
    {
        var token = Token();
        var ids = Enumerable.Range(0, 4).Select(_ => fixture.Jobs.Enqueue<E2EJobs>(j => j.OneAtATime(token))).ToList();
        foreach (var id in ids) await Succeeded(id);
        E2EJobs.RunsOf(token).Should().HaveCount(4);
        E2EJobs.MostAtOnce[token].Should().Be(1);
    }

    [Fact]
    public async Task The_checkpoint_recurring_job_is_configured_listed_and_runs_when_triggered()
    {
        var admin = fixture.Host.AdminClient();
        var list = await admin.GetStringAsync("/api/scheduling/recurring");
        list.Should().Contain("\"id\":\"litedb-checkpoint\"").And.Contain("\"kind\":\"litedb-checkpoint\"");

        var trigger = await admin.PostAsync("/api/scheduling/recurring/litedb-checkpoint/trigger", null);
        trigger.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var jobId = System.Text.Json.JsonDocument.Parse(await trigger.Content.ReadAsStringAsync()).RootElement.GetProperty("jobId").GetString()!;
        await Succeeded(jobId);

        (await admin.PostAsync("/api/scheduling/recurring/no-such-job/trigger", null)).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await fixture.Host.AdminClient(CdpHost.AnalystKey).PostAsync("/api/scheduling/recurring/litedb-checkpoint/trigger", null))
            .StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task The_dashboard_needs_the_admin_key_as_bearer_or_as_the_sign_in_cookie()
    {
        var baseAddress = fixture.Host.CreateClient().BaseAddress;
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = baseAddress };
        (await anonymous.GetAsync("/jobs")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await fixture.Host.AdminClient(CdpHost.AnalystKey).GetAsync("/jobs")).StatusCode.Should().Be(HttpStatusCode.Forbidden);

        var page = await fixture.Host.AdminClient().GetAsync("/jobs");
        page.StatusCode.Should().Be(HttpStatusCode.OK);
        (await page.Content.ReadAsStringAsync()).Should().Contain("Cdp jobs");
        (await fixture.Host.AdminClient().GetAsync("/jobs/jobs/succeeded")).StatusCode.Should().Be(HttpStatusCode.OK);

        (await anonymous.GetAsync(DashboardSignIn.SignInPath)).StatusCode.Should().Be(HttpStatusCode.OK);
        using var browser = new DashboardBrowser(baseAddress!.ToString());
        (await browser.SignIn("wrong-key-0123456789")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var signIn = await browser.SignIn(CdpHost.AdminKey);
        signIn.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(DashboardSignIn.CookieName + "=", StringComparison.Ordinal));
        cookie.Should().Contain("httponly").And.Contain("samesite=strict").And.Contain("path=/jobs").And.NotContain(CdpHost.AdminKey);
        (await browser.Client.GetAsync("/jobs")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Two_hosts_in_one_process_each_run_their_own_jobs()
    {
        using var other = new CdpHost(FastScheduling.Settings());
        var token = Token();
        var here = fixture.Jobs.Enqueue<E2EJobs>(j => j.RecordHost(token));
        var there = other.Service<IBackgroundJobs>().Enqueue<E2EJobs>(j => j.RecordHost(token));
        await Succeeded(here);
        await Eventually.Until(() => other.Service<IBackgroundJobs>().StateOf(there) == SucceededState.StateName, "the other host's job");
        // each job ran on its own host's storage, as each describes itself (on PostgreSQL both say "Schema: cdp_hangfire",
        // each in its own database)
        string[] storages = [fixture.Host.Service<Hangfire.JobStorage>().ToString()!, other.Service<Hangfire.JobStorage>().ToString()!];
        E2EJobs.RunsOf(token).Should().BeEquivalentTo(storages);
        if (CdpHost.DefaultProvider == Cdp.Modules.Shared.Storage.StorageProviders.LiteDb)
            storages.Should().Equal("LiteDB job storage: " + Path.Combine(fixture.Host.DataFolder, "cdp-jobs.db"), "LiteDB job storage: " + Path.Combine(other.DataFolder, "cdp-jobs.db"));
    }
}
