using System.Text;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Tests.Support;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Pipeline;

/// <summary>
/// A batch takes the backlog, at least Cdp:Profiles:BatchSize and at most CatchUpBatchSize events, and no more than
/// the events whose writes fit in MaxWriteMilliseconds at the last batch's cost per event.
/// </summary>
public sealed class ProcessorBatchSizeTests : IDisposable
{
    private readonly CdpHost _host = new(new Dictionary<string, string?>
    {
        ["Cdp:Profiles:BatchSize"] = "10",
        ["Cdp:Profiles:CatchUpBatchSize"] = "400",
    });

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task A_backlog_is_processed_in_batches_of_the_catch_up_size()
    {
        await SendWhilePaused(batches: 10, perBatch: 100);

        // 1,000 waiting: 400, 400, then the remaining 200 in one batch
        _host.Service<IProfileProcessor>().Status.LastBatchEvents.Should().Be(200);
        var profile = (await _host.AdminClient().Profile("user_id:u1"))!.Value;
        profile.GetProperty("trackEvents").GetProperty("Viewed").GetInt64().Should().Be(1_000);
    }

    [Fact]
    public async Task A_backlog_between_the_two_sizes_is_taken_in_one_batch()
    {
        await SendWhilePaused(batches: 1, perBatch: 25);

        // more than BatchSize (10) is waiting: one batch takes all 25 rather than 10, 10, 5
        _host.Service<IProfileProcessor>().Status.LastBatchEvents.Should().Be(25);
        var profile = (await _host.AdminClient().Profile("user_id:u1"))!.Value;
        profile.GetProperty("trackEvents").GetProperty("Viewed").GetInt64().Should().Be(25);
    }

    [Fact]
    public async Task The_status_reports_how_long_the_last_batch_held_the_write_gate()
    {
        await SendWhilePaused(batches: 1, perBatch: 25);

        _host.Service<IProfileProcessor>().Status.LastBatchWriteMilliseconds.Should().BePositive();
        var metrics = await _host.AdminClient().MetricsText();
        metrics.Should().MatchRegex(@"(?m)^cdp_processor_last_batch_write_ms [0-9.]+$");
    }

    [Theory]
    [InlineData(100_000, 0.0, 25_000)]   // no batch measured yet: the catch-up size
    [InlineData(100_000, 0.1, 10_000)]   // 0.1 ms per event: 10,000 events fill the 1 s budget
    [InlineData(3_000, 0.1, 3_000)]      // a backlog under the budget is taken whole
    [InlineData(100_000, 0.01, 25_000)]  // cheap writes: still no more than the catch-up size
    [InlineData(100_000, 50.0, 500)]     // very slow writes: never below the batch size
    [InlineData(200, 50.0, 500)]         // and a small backlog reads up to the batch size, as before
    public void A_batch_is_cut_to_the_events_whose_writes_fit_in_the_budget(long backlog, double writeMsPerEvent, int expected) =>
        Cdp.Modules.Pipeline.Processing.ProfileProcessor.BatchSizeFor(backlog, batchSize: 500, catchUp: 25_000, maxWriteMs: 1_000, writeMsPerEvent)
            .Should().Be(expected);

    private async Task SendWhilePaused(int batches, int perBatch)
    {
        var admin = _host.AdminClient();
        var web = _host.TrackingClient();
        await web.Send("identify", """{"userId":"u1"}""");
        await _host.Processed();
        (await admin.PostAsync("/api/profiles/processor/pause", null)).EnsureSuccessStatusCode();
        for (var b = 0; b < batches; b++)
        {
            var batch = new StringBuilder("{\"batch\":[");
            for (var i = 0; i < perBatch; i++)
                batch.Append(i == 0 ? "" : ",").Append($$"""{"type":"track","userId":"u1","event":"Viewed","messageId":"m-{{b}}-{{i}}"}""");
            await web.Send("batch", batch.Append("]}").ToString());
        }
        (await admin.PostAsync("/api/profiles/processor/resume", null)).EnsureSuccessStatusCode();
        await _host.Processed();
    }

    [Theory]
    [InlineData("CatchUpBatchSize", "0")]
    [InlineData("MaxWriteMilliseconds", "0")]
    [InlineData("MaxWriteMilliseconds", "60001")]
    public async Task A_batch_setting_out_of_range_stops_the_host_naming_the_setting(string setting, string value)
    {
        using var folder = new TempFolder();
        var app = Cdp.Host.CdpApp.Build(Cdp.Host.CdpApp.CreateBuilder([
            $"--Cdp:Storage:Path={folder.File("cdp.db")}", $"--Cdp:Profiles:{setting}={value}"]));
        await using (app)
        {
            var validate = () => Cdp.Host.CdpApp.ValidateSettings(app.Services);
            validate.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().Which.Message.Should().Contain(setting);
        }
    }
}
