using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Tests.Support;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Pipeline;

public sealed class ProcessorPauseTests : IDisposable
{
    private readonly CdpHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task A_paused_processor_leaves_events_in_the_log_and_catches_up_on_resume()
    {
        var admin = _host.AdminClient();
        var web = _host.TrackingClient();
        await web.Send("identify", """{"userId":"before","traits":{"email":"before@example.com"}}""");
        await _host.Processed();

        var paused = await admin.PostAsync("/api/profiles/processor/pause", null);
        paused.StatusCode.Should().Be(HttpStatusCode.OK);
        (await paused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("paused").GetBoolean().Should().BeTrue();
        var checkpoint = _host.Service<IProfileProcessor>().Status.Checkpoint;

        for (var i = 0; i < 20; i++) await web.Send("track", $$"""{"userId":"during","event":"Viewed","messageId":"m-{{i}}"}""");
        var head = _host.Service<IEventLog>().LastSequence;
        head.Should().Be(checkpoint + 20, "collection goes on while processing is paused");
        // The signal that the processor went round its loop since the events were committed: two commands run on its thread
        // one after the other. Its loop runs the commands waiting, then (unless paused) takes a batch, so a processor that
        // ignored the pause would have processed the 20 events between the two.
        var processor = _host.Service<IProfileProcessor>();
        await processor.RunExclusiveAsync(() => true, CancellationToken.None);
        await processor.RunExclusiveAsync(() => true, CancellationToken.None);
        processor.Status.Checkpoint.Should().Be(checkpoint, "a paused processor takes no batch");
        (await admin.GetAsync("/api/profiles/user_id:during")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await admin.MetricsText()).Should().Contain("cdp_processor_paused 1");

        (await admin.PostAsync("/api/profiles/processor/resume", null)).StatusCode.Should().Be(HttpStatusCode.OK);
        await _host.Processed();
        var profile = (await admin.Profile("user_id:during"))!.Value;
        profile.GetProperty("trackEvents").GetProperty("Viewed").GetInt64().Should().Be(20, "every event collected during the pause is processed once");
        _host.Service<IProfileProcessor>().Status.Paused.Should().BeFalse();
    }

    [Fact]
    public async Task Pausing_needs_an_admin_key()
    {
        (await _host.AdminClient(CdpHost.AnalystKey).PostAsync("/api/profiles/processor/pause", null)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await new HttpClient { BaseAddress = _host.AdminClient().BaseAddress }.PostAsync("/api/profiles/processor/pause", null))
            .StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        _host.Service<IProfileProcessor>().Status.Paused.Should().BeFalse();
    }
}
