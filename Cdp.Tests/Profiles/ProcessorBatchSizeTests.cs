using System.Text;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Tests.Support;

namespace Cdp.Tests.Profiles;

/// <summary>Cdp:Profiles:BatchSize while events keep arriving, CatchUpBatchSize while the log is quiet.</summary>
public sealed class ProcessorBatchSizeTests : IDisposable
{
    private readonly CdpHost _host = new(new Dictionary<string, string?>
    {
        ["Cdp:Profiles:BatchSize"] = "10",
        ["Cdp:Profiles:CatchUpBatchSize"] = "400",
    });

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task A_backlog_on_a_quiet_log_is_processed_in_catch_up_batches_after_one_small_batch()
    {
        var admin = _host.AdminClient();
        var web = _host.TrackingClient();
        await web.Send("identify", """{"userId":"u1"}""");
        await _host.Processed();
        (await admin.PostAsync("/api/profiles/processor/pause", null)).EnsureSuccessStatusCode();
        for (var b = 0; b < 10; b++)
        {
            var batch = new StringBuilder("{\"batch\":[");
            for (var i = 0; i < 100; i++)
                batch.Append(i == 0 ? "" : ",").Append($$"""{"type":"track","userId":"u1","event":"Viewed","messageId":"m-{{b}}-{{i}}"}""");
            await web.Send("batch", batch.Append("]}").ToString());
        }

        (await admin.PostAsync("/api/profiles/processor/resume", null)).EnsureSuccessStatusCode();
        await _host.Processed();

        // 1,000 arrived during the pause: one batch of 10 (the log was busy), then nothing arrives: 400, 400, 190
        _host.Service<IProfileProcessor>().Status.LastBatchEvents.Should().Be(190);
        var profile = (await admin.Profile("user_id:u1"))!.Value;
        profile.GetProperty("trackEvents").GetProperty("Viewed").GetInt64().Should().Be(1_000);
    }

    [Fact]
    public async Task A_catch_up_batch_size_out_of_range_stops_the_host_naming_the_setting()
    {
        using var folder = new TempFolder();
        var app = Cdp.Host.CdpApp.Build(Cdp.Host.CdpApp.CreateBuilder([
            $"--Cdp:Storage:Path={folder.File("cdp.db")}", "--Cdp:Profiles:CatchUpBatchSize=0"]));
        await using (app)
        {
            var validate = () => Cdp.Host.CdpApp.ValidateSettings(app.Services);
            validate.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().Which.Message.Should().Contain("CatchUpBatchSize");
        }
    }
}
