using Cdp.Modules.Scheduling.Contracts;
using Cdp.Tests.Support;

namespace Cdp.Tests.Scheduling;

/// <summary>Every periodic task is a recurring job from settings: check-config checks each schedule and job kind, naming the key.</summary>
public sealed class ScheduleSettingsTests
{
    /// <summary>Each setting that holds a cron, and a value Cronos refuses (a minute of 61, a month of 13, ...).</summary>
    private static readonly (string Key, string Cron)[] BadSchedules =
    [
        ("Cdp:Scheduling:RecurringJobs:nightly:Cron", "61 * * * *"),
        ("Cdp:SegmentEvaluation:SweepSchedule", "5 0 * 13 *"),
        ("Cdp:Governance:AuditRetentionSchedule", "every six hours"),
        ("Cdp:Identity:Matching:Schedule", "0 3 * * * * *"),
        ("Cdp:Syncs:news:Cron", "0 25 * * *"),
    ];

    [Fact]
    public async Task Check_config_exits_2_naming_the_key_of_an_invalid_cron_in_each_schedule_setting_and_an_unknown_job_kind()
    {
        using var folder = new TempFolder();
        var args = new List<string>
        {
            "check-config", $"--Cdp:Storage:Path={folder.File("cdp.db")}",
            "--Cdp:Scheduling:RecurringJobs:nightly:Kind=litedb-checkpoint",
            "--Cdp:Scheduling:RecurringJobs:typo:Kind=segment-swep", "--Cdp:Scheduling:RecurringJobs:typo:Cron=5 0 * * *",
            "--Cdp:Destinations:drop:Type=CsvFile", $"--Cdp:Destinations:drop:Folder={folder.Path}",
            "--Cdp:Syncs:news:Segment=dermatology-no-booking", "--Cdp:Syncs:news:Destination=drop",
        };
        args.AddRange(BadSchedules.Select(b => $"--{b.Key}={b.Cron}"));

        var (exitCode, output) = await CdpProcess.RunToExitAsync(folder.Path, [.. args]);

        exitCode.Should().Be(2, output);
        foreach (var (key, cron) in BadSchedules)
            output.Should().Contain($"{key}: '{cron}' is not a valid cron expression", "check-config names {0}", key);
        output.Should().Contain("Cdp:Scheduling:RecurringJobs:typo:Kind: unknown job kind 'segment-swep'. Known kinds: ")
            .And.Contain("segment-sweep").And.Contain("audit-retention").And.Contain("activation-sync").And.Contain("identity-matching");
        output.Should().NotContain("Unhandled exception");
    }

    [Fact]
    public async Task The_server_refuses_to_start_with_the_same_message_as_check_config()
    {
        using var folder = new TempFolder();
        var (exitCode, output) = await CdpProcess.RunToExitAsync(folder.Path, $"--Cdp:Storage:Path={folder.File("cdp.db")}",
            "--urls=http://127.0.0.1:0", "--Cdp:SegmentEvaluation:SweepSchedule=5 0 * 13 *");
        exitCode.Should().Be(2, output);
        output.Should().Contain("Cdp:SegmentEvaluation:SweepSchedule: '5 0 * 13 *' is not a valid cron expression (");
    }

    [Theory]
    [InlineData("*/15 * * * *")]
    [InlineData("0 */5 * * * *")]
    [InlineData("@daily")]
    [InlineData("5 0 * * MON-FRI")]
    public void Hangfire_cron_forms_are_accepted(string cron) => CronSchedule.Problem(cron).Should().BeNull();

    [Theory]
    [InlineData("", "must be a cron expression")]
    [InlineData("* * * *", "it has 4 fields")]
    [InlineData("* * * * 8", "is not a valid cron expression (")]
    public void Bad_cron_expressions_are_refused_with_a_reason(string cron, string reason) =>
        CronSchedule.Problem(cron).Should().Contain(reason);
}
