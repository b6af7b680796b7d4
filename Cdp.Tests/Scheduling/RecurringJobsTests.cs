using Cdp.Modules.Scheduling;
using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Scheduling.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Cdp.Tests.Support;

namespace Cdp.Tests.Scheduling;

public sealed class RecurringJobsTests
{
    private static Dictionary<string, string?> Sleepy(TempFolder folder, string id, string cron) => FastScheduling.Settings(
        ("Cdp:Scheduling:DiagnosticKinds", "true"),
        ($"Cdp:Scheduling:RecurringJobs:{id}:Kind", "diagnostics-sleep"),
        ($"Cdp:Scheduling:RecurringJobs:{id}:Cron", cron),
        ($"Cdp:Scheduling:RecurringJobs:{id}:Arguments:File", folder.File(id + ".log")),
        ($"Cdp:Scheduling:RecurringJobs:{id}:Arguments:Seconds", "0"));

    [Fact]
    public async Task Recurring_jobs_from_appsettings_run_on_their_cron_and_are_reconciled_on_restart()
    {
        using var folder = new TempFolder();
        using (var host = new CdpHost(Sleepy(folder, "every-second", "* * * * * *"), folder))
        {
            _ = host.Services; // starts the host
            await Eventually.Until(() => File.Exists(folder.File("every-second.log"))
                && File.ReadAllLines(folder.File("every-second.log")).Count(l => l.StartsWith("finished")) >= 2, "two runs of the recurring job",
                explain: () => string.Join(" | ", host.Service<RecurringJobCatalog>().List().Select(r => $"{r.Id} next={r.NextExecution:O} last={r.LastExecution:O} job={r.LastJobId} {r.LastJobState} {r.Error}"))
                    + " kinds=" + string.Join(",", host.Service<RecurringJobCatalog>().KindNames)
                    + " stats=" + System.Text.Json.JsonSerializer.Serialize(host.Service<Hangfire.JobStorage>().GetMonitoringApi().GetStatistics()));
            host.Service<RecurringJobCatalog>().List().Select(r => r.Id).Should().BeEquivalentTo(["every-second", "litedb-checkpoint", "audit-retention", "segment-sweep"], "the modules add the audit retention and the segment sweep");
        }

        // Restart with another configuration on the same jobs file: the old job goes, the new one comes, the cron is updated.
        var settings = Sleepy(folder, "nightly", "0 3 * * *");
        settings["Cdp:Scheduling:RecurringJobs:nightly:TimeZone"] = "Europe/Paris";
        settings["Cdp:Scheduling:RecurringJobs:litedb-checkpoint:Cron"] = "*/5 * * * *";
        using (var host = new CdpHost(settings, folder))
        {
            // read until reconciled (one CI run under load read the first host's set once: the ids are now printed if it lasts)
            var catalog = host.Service<RecurringJobCatalog>();
            string[] expected = ["audit-retention", "litedb-checkpoint", "nightly", "segment-sweep"];
            await Eventually.Until(() => catalog.List().Select(r => r.Id).Order(StringComparer.Ordinal).SequenceEqual(expected), "the jobs of the new settings",
                seconds: 10, explain: () => string.Join(",", catalog.List().Select(r => r.Id)));
            var jobs = catalog.List();
            jobs.Select(r => r.Id).Should().BeEquivalentTo(expected);
            jobs.Single(r => r.Id == "nightly").TimeZoneId.Should().Be("Europe/Paris");
            jobs.Single(r => r.Id == "litedb-checkpoint").Cron.Should().Be("*/5 * * * *");
        }
    }

    [Theory]
    [InlineData("sweep", "Kind", "no-such-kind")]
    [InlineData("litedb-checkpoint", "Cron", "not a cron")]
    public void A_recurring_job_of_an_unknown_kind_or_a_bad_cron_is_refused_naming_its_key(string id, string field, string value)
    {
        using var scope = new JobStorageScope();
        var settings = new SchedulingOptions();
        settings.RecurringJobs[id] = new RecurringJobSettings { Kind = "litedb-checkpoint", Cron = "* * * * *" };
        typeof(RecurringJobSettings).GetProperty(field)!.SetValue(settings.RecurringJobs[id], value);
        var options = Options.Create(settings);
        var scopes = new ServiceCollection().BuildServiceProvider().GetRequiredService<IServiceScopeFactory>();
        var catalog = new RecurringJobCatalog(new JobMachinery(scope.Storage, scopes, options), [new NamedKind("litedb-checkpoint")], [],
            options, new Cdp.Modules.Shared.Storage.HostLead(Options.Create(new Cdp.Modules.Shared.Storage.StorageOptions())), NullLogger<RecurringJobCatalog>.Instance);

        // Program prints OptionsValidationException failures and exits with code 2 (SchedulingProcessTests runs the real thing).
        var reconcile = () => catalog.Reconcile();
        reconcile.Should().Throw<OptionsValidationException>()
            .Which.Failures.Should().ContainSingle().Which.Should().StartWith($"Cdp:Scheduling:RecurringJobs:{id}:{field}:");
    }

    [Fact]
    public void Recurring_job_settings_are_validated_with_their_full_keys()
    {
        var settings = new SchedulingOptions();
        settings.RecurringJobs["nightly"] = new RecurringJobSettings { Kind = "", Cron = "0 3 * * *", TimeZone = "Mars/Olympus", Queue = "Bad Queue" };
        new SchedulingOptionsValidator().Validate(settings).Errors.Select(e => e.PropertyName)
            .Should().BeEquivalentTo(["RecurringJobs:nightly:Kind", "RecurringJobs:nightly:TimeZone", "RecurringJobs:nightly:Queue"]);
    }

    private sealed class NamedKind(string name) : IRecurringJobKind
    {
        public string Name => name;

        public Task RunAsync(RecurringJobRun run, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
