using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Tests.Support;

namespace Cdp.Tests.Collection;

public sealed class TrackingApiTests : IDisposable
{
    private readonly CdpHost _host = new();

    public void Dispose() => _host.Dispose();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private IReadOnlyList<JsonElement> Logged()
    {
        var log = _host.Service<IEventLog>();
        return log.ReadAfter(0, 10_000).Select(e => JsonDocument.Parse(e.Json).RootElement.Clone()).ToList();
    }

    [Fact]
    public async Task Track_is_acknowledged_with_success_and_stored_in_the_log()
    {
        var client = _host.TrackingClient();
        var response = await client.PostAsync("/v1/track", Json("""{"userId":"u1","event":"Signed Up","properties":{"plan":"pro"}}"""));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Be("""{"success":true}""");
        var stored = Logged().Should().ContainSingle().Subject;
        stored.GetProperty("type").GetString().Should().Be("track");
        stored.GetProperty("event").GetString().Should().Be("Signed Up");
        stored.GetProperty("properties").GetProperty("plan").GetString().Should().Be("pro");
        stored.GetProperty("messageId").GetString().Should().NotBeNullOrEmpty();
    }
}
