using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Tests.Support;

namespace Cdp.Tests.Collection;

/// <summary>
/// What the browser SDKs need from the server (paths, headers and documents read from analytics-next 1.84.3 and
/// @rudderstack/analytics-js 3.34.1): CORS on the Tracking API only, the short and beacon paths, the write key in the query
/// string, text/plain bodies, analytics.js's /v1/m and the SDKs' configuration documents.
/// </summary>
public sealed class BrowserCollectionTests : IDisposable
{
    private const string Shop = "https://shop.example";
    private const string Crm = "https://crm.example";
    private const string Stranger = "https://evil.example";

    private readonly CdpHost _host = new(new Dictionary<string, string?>
    {
        ["Cdp:Sources:web:AllowedOrigins:0"] = Shop,
        ["Cdp:Sources:web:AllowedOrigins:1"] = "http://localhost:3000",
        ["Cdp:Sources:crm:AllowedOrigins:0"] = Crm,
        // a second source with its own origins (the Development settings' website source, with a test key)
        ["Cdp:Sources:website:WriteKey"] = "test-write-key-website",
        ["Cdp:Sources:website:AllowedOrigins:0"] = "https://www.example",
    });

    public void Dispose() => _host.Dispose();

    private IReadOnlyList<JsonElement> Logged() =>
        _host.Service<IEventLog>().ReadAfter(0, 10_000).Select(e => JsonDocument.Parse(e.Json).RootElement.Clone()).ToList();

    private static HttpRequestMessage Preflight(string path, string origin, string requestHeaders = "authorization,content-type")
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", requestHeaders);
        return request;
    }

    private static HttpRequestMessage Post(string path, string body, string? origin = Shop, string? writeKey = CdpHost.WriteKey, string? contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        if (contentType is not null) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (origin is not null) request.Headers.Add("Origin", origin);
        if (writeKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":")));
        return request;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : null;

    [Theory]
    [InlineData("/v1/p")]
    [InlineData("/v1/track")]
    [InlineData("/v1/b")]
    [InlineData("/beacon/v1/batch")]
    [InlineData("/v1/m")]
    public async Task Preflight_from_an_allowed_origin_gets_204_with_the_allowed_headers(string path)
    {
        // RudderStack's XhrQueue and analytics.js's fetch headers, as the browser lists them
        const string asked = "anonymousid,authorization,content-type,rsa-retry-attempt,rsa-since-last-attempt,sentat,x-retry-count";
        var response = await _host.CreateClient().SendAsync(Preflight(path, Shop, asked));
        response.StatusCode.Should().Be(HttpStatusCode.NoContent);
        Header(response, "Access-Control-Allow-Origin").Should().Be(Shop);
        Header(response, "Access-Control-Allow-Methods").Should().Contain("POST");
        Header(response, "Access-Control-Allow-Headers").Should().Be(asked);
        Header(response, "Access-Control-Max-Age").Should().Be("7200");
        Header(response, "Vary").Should().Contain("Origin");
        Header(response, "Access-Control-Allow-Credentials").Should().BeNull();
    }

    [Fact]
    public async Task A_preflight_asking_for_malformed_header_names_gets_the_list_of_the_sdks_headers()
    {
        var response = await _host.CreateClient().SendAsync(Preflight("/v1/t", Shop, "authorization,bad header:x"));
        response.StatusCode.Should().Be(HttpStatusCode.NoContent);
        var allowed = Header(response, "Access-Control-Allow-Headers")!;
        allowed.Should().Contain("Authorization").And.Contain("AnonymousId").And.Contain("X-Retry-Count").And.Contain("Rsa-Retry-Attempt").And.NotContain("bad header");
    }

    [Fact]
    public async Task Preflight_from_an_origin_no_source_lists_gets_403_without_cors_headers()
    {
        var response = await _host.CreateClient().SendAsync(Preflight("/v1/t", Stranger));
        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        Header(response, "Access-Control-Allow-Origin").Should().BeNull();
        (await response.Content.ReadAsStringAsync()).Should().Contain("Origin not allowed");
    }

    [Fact]
    public async Task A_preflight_is_answered_for_an_origin_any_source_lists()
    {
        // a preflight carries no write key: the crm source's origin is good enough for it
        var response = await _host.CreateClient().SendAsync(Preflight("/v1/track", Crm));
        response.StatusCode.Should().Be(HttpStatusCode.NoContent);
        Header(response, "Access-Control-Allow-Origin").Should().Be(Crm);
    }

    [Theory]
    [InlineData("/api/segments")]
    [InlineData("/api/collection/dead-letters")]
    [InlineData("/health/live")]
    public async Task The_admin_api_gets_no_cors_headers(string path)
    {
        var preflight = await _host.CreateClient().SendAsync(Preflight(path, Shop));
        Header(preflight, "Access-Control-Allow-Origin").Should().BeNull();
        preflight.StatusCode.Should().NotBe(HttpStatusCode.NoContent);
        var get = new HttpRequestMessage(HttpMethod.Get, path);
        get.Headers.Add("Origin", Shop);
        get.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CdpHost.AdminKey);
        Header(await _host.CreateClient().SendAsync(get), "Access-Control-Allow-Origin").Should().BeNull();
    }

    [Fact]
    public async Task Answers_to_an_allowed_origin_carry_cors_headers_for_200_400_and_401()
    {
        var client = _host.CreateClient();
        var ok = await client.SendAsync(Post("/v1/t", """{"anonymousId":"a1","event":"Viewed"}"""));
        var bad = await client.SendAsync(Post("/v1/t", "{not json"));
        var unknown = await client.SendAsync(Post("/v1/t", """{"anonymousId":"a1","event":"Viewed"}""", writeKey: "no-such-write-key"));
        foreach (var (response, status) in new[] { (ok, HttpStatusCode.OK), (bad, HttpStatusCode.BadRequest), (unknown, HttpStatusCode.Unauthorized) })
        {
            response.StatusCode.Should().Be(status);
            Header(response, "Access-Control-Allow-Origin").Should().Be(Shop);
            Header(response, "Access-Control-Expose-Headers").Should().Contain("Retry-After");
            Header(response, "Vary").Should().Contain("Origin");
        }
    }

    [Fact]
    public async Task A_429_exposes_retry_after_to_the_page()
    {
        using var limited = new CdpHost(new Dictionary<string, string?>
        {
            ["Cdp:Sources:web:MaxRequestsPerSecond"] = "1",
            ["Cdp:Sources:web:AllowedOrigins:0"] = Shop,
        });
        var client = limited.CreateClient();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 20 && refused is null; i++)
        {
            var response = await client.SendAsync(Post("/v1/t", $$"""{"anonymousId":"a1","event":"E{{i}}"}"""));
            if (response.StatusCode == HttpStatusCode.TooManyRequests) refused = response;
        }
        refused.Should().NotBeNull("a burst of twice MaxRequestsPerSecond is allowed, then 429");
        Header(refused!, "Access-Control-Allow-Origin").Should().Be(Shop);
        Header(refused!, "Access-Control-Expose-Headers").Should().Contain("Retry-After");
        refused!.Headers.RetryAfter.Should().NotBeNull();
    }

    [Fact]
    public async Task A_post_with_a_write_key_from_an_origin_its_source_does_not_list_is_refused_and_not_stored()
    {
        // crm.example is listed by the crm source only: the web source's key is not for it
        var response = await _host.CreateClient().SendAsync(Post("/v1/t", """{"anonymousId":"a1","event":"Viewed"}""", origin: Crm));
        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        Header(response, "Access-Control-Allow-Origin").Should().BeNull();
        (await response.Content.ReadAsStringAsync()).Should().Contain("Cdp:Sources:web:AllowedOrigins");
        var beacon = await _host.CreateClient().SendAsync(Post($"/beacon/v1/batch?writeKey={CdpHost.WriteKey}",
            """{"batch":[{"type":"track","anonymousId":"a1","event":"Viewed"}]}""", origin: Stranger, writeKey: null, contentType: "text/plain;charset=UTF-8"));
        beacon.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        Logged().Should().BeEmpty();
    }

    [Fact]
    public async Task Requests_without_an_origin_such_as_server_sdks_are_not_checked()
    {
        var response = await _host.CreateClient().SendAsync(Post("/v1/track", """{"userId":"u1","event":"Viewed"}""", origin: null));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        Header(response, "Access-Control-Allow-Origin").Should().BeNull();
        Logged().Should().ContainSingle();
    }

    [Theory]
    [InlineData("/v1/i", "identify", """{"anonymousId":"a1","traits":{"email":"a@b.c"}}""")]
    [InlineData("/v1/t", "track", """{"anonymousId":"a1","event":"Viewed"}""")]
    [InlineData("/v1/p", "page", """{"anonymousId":"a1","name":"Home","properties":{"path":"/"}}""")]
    [InlineData("/v1/s", "screen", """{"anonymousId":"a1","name":"Home"}""")]
    [InlineData("/v1/g", "group", """{"anonymousId":"a1","groupId":"g1"}""")]
    [InlineData("/v1/a", "alias", """{"userId":"u1","previousId":"a1"}""")]
    public async Task Each_analytics_js_short_path_stores_its_call_once_with_its_type(string path, string type, string body)
    {
        // analytics.js posts Content-Type text/plain (plugins/segmentio/shared-dispatcher.js) with the key in the body too
        var withKey = body.Insert(1, $"\"writeKey\":\"{CdpHost.WriteKey}\",\"messageId\":\"ajs-next-{type}\",");
        var response = await _host.CreateClient().SendAsync(Post(path, withKey, contentType: "text/plain"));
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var stored = Logged().Should().ContainSingle().Subject;
        stored.GetProperty("type").GetString().Should().Be(type);
        stored.GetProperty("messageId").GetString().Should().Be($"ajs-next-{type}");
    }

    [Fact]
    public async Task Analytics_js_batching_posts_to_v1_b_with_the_write_key_in_the_body_and_no_authorization()
    {
        var body = $$$"""{"writeKey":"{{{CdpHost.WriteKey}}}","batch":[{"type":"track","anonymousId":"a1","event":"A","messageId":"b-1"},{"type":"page","anonymousId":"a1","messageId":"b-2","properties":{"path":"/x"}}],"sentAt":"2026-03-31T12:00:00.000Z"}""";
        var response = await _host.CreateClient().SendAsync(Post("/v1/b", body, writeKey: null, contentType: "text/plain"));
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Logged().Select(e => e.GetProperty("messageId").GetString()).Should().BeEquivalentTo("b-1", "b-2");
    }

    [Fact]
    public async Task The_rudderstack_beacon_path_stores_a_text_plain_batch_with_the_write_key_in_the_query_string()
    {
        // BeaconQueue: sendBeacon(`${dataPlaneUrl}/beacon/v1/batch?writeKey=${writeKey}`, new Blob([json], {type:'text/plain'}))
        var body = """{"batch":[{"type":"track","anonymousId":"rs-a1","event":"Left","messageId":"rs-1","originalTimestamp":"2026-03-31T11:59:00.000Z","sentAt":"2026-03-31T11:59:01.000Z","channel":"web"}],"sentAt":"2026-03-31T11:59:01.000Z"}""";
        var response = await _host.CreateClient().SendAsync(Post($"/beacon/v1/batch?writeKey={CdpHost.WriteKey}", body, writeKey: null, contentType: "text/plain;charset=UTF-8"));
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Header(response, "Access-Control-Allow-Origin").Should().Be(Shop);
        var stored = Logged().Should().ContainSingle().Subject;
        stored.GetProperty("messageId").GetString().Should().Be("rs-1");
        stored.GetProperty("originalTimestamp").GetString().Should().Be("2026-03-31T11:59:00.000Z");

        var again = await _host.CreateClient().SendAsync(Post($"/beacon/v1/batch?writeKey={CdpHost.WriteKey}", body, writeKey: null, contentType: null));
        again.StatusCode.Should().Be(HttpStatusCode.OK);
        Logged().Should().ContainSingle("the same messageId again is acknowledged and stored once");

        var unknown = await _host.CreateClient().SendAsync(Post("/beacon/v1/batch?writeKey=nope-nope-nope", body, writeKey: null, contentType: "text/plain"));
        unknown.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var missing = await _host.CreateClient().SendAsync(Post("/beacon/v1/batch", body, writeKey: null, contentType: "text/plain"));
        missing.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_beacon_path_keeps_the_batch_limit_of_500_KB()
    {
        var big = "{\"batch\":[{\"type\":\"track\",\"anonymousId\":\"a\",\"event\":\"" + new string('x', 600 * 1024) + "\"}]}";
        var response = await _host.CreateClient().SendAsync(Post($"/beacon/v1/batch?writeKey={CdpHost.WriteKey}", big, writeKey: null, contentType: "text/plain"));
        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        Header(response, "Access-Control-Allow-Origin").Should().Be(Shop);
        var single = "{\"anonymousId\":\"a\",\"event\":\"" + new string('x', 40 * 1024) + "\"}";
        (await _host.CreateClient().SendAsync(Post("/v1/t", single))).StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task The_write_key_is_also_read_from_the_query_string_on_the_v1_paths()
    {
        var response = await _host.CreateClient().SendAsync(Post($"/v1/track?writeKey={CdpHost.WriteKey}", """{"anonymousId":"a1","event":"Q"}""", writeKey: null, contentType: null));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        Logged().Should().ContainSingle().Which.GetProperty("event").GetString().Should().Be("Q");
    }

    [Fact]
    public async Task Analytics_js_metrics_on_v1_m_are_answered_200_counted_and_not_stored()
    {
        // core/stats/remote-metrics.js: POST ${protocol}://${host}/m, Content-Type text/plain, no Authorization
        const string series = """{"series":[{"type":"Counter","metric":"analytics_js.invoke.track","value":1,"tags":{"library":"analytics.js","library_version":"npm:next-1.84.3"}}]}""";
        var response = await _host.CreateClient().SendAsync(Post("/v1/m", series, writeKey: null, contentType: "text/plain"));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        Header(response, "Access-Control-Allow-Origin").Should().Be(Shop);
        Logged().Should().BeEmpty();
        var metrics = await _host.AdminClient(CdpHost.AnalystKey).MetricsText();
        metrics.Should().Contain("cdp_sdk_metrics_requests_total 1");
    }

    [Fact]
    public async Task The_analytics_js_settings_document_points_the_segment_io_integration_at_this_cdp()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/projects/{CdpHost.WriteKey}/settings");
        request.Headers.Add("Origin", Shop);
        var response = await _host.CreateClient().SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        Header(response, "Access-Control-Allow-Origin").Should().Be(Shop);
        var settings = await response.Content.ReadFromJsonAsync<JsonElement>();
        var segmentIo = settings.GetProperty("integrations").GetProperty("Segment.io");
        var address = new Uri(_host.ServerAddress);
        segmentIo.GetProperty("apiKey").GetString().Should().Be(CdpHost.WriteKey);
        segmentIo.GetProperty("apiHost").GetString().Should().Be($"{address.Authority}/v1");
        segmentIo.GetProperty("protocol").GetString().Should().Be("http");
        settings.GetProperty("integrations").EnumerateObject().Should().ContainSingle("no other destination is loaded from anyone's CDN");
        settings.GetProperty("remotePlugins").GetArrayLength().Should().Be(0);
        settings.GetProperty("metrics").GetProperty("sampleRate").GetInt32().Should().Be(0);

        var unknown = await _host.CreateClient().GetAsync("/v1/projects/no-such-key/settings");
        unknown.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await unknown.Content.ReadAsStringAsync()).Should().Contain("Unknown write key");
    }

    [Fact]
    public async Task The_public_url_setting_replaces_the_request_host_in_the_settings_document()
    {
        using var proxied = new CdpHost(new Dictionary<string, string?> { ["Cdp:Collection:PublicUrl"] = "https://cdp.example.org/" });
        var settings = await proxied.CreateClient().GetFromJsonAsync<JsonElement>($"/v1/projects/{CdpHost.WriteKey}/settings");
        var segmentIo = settings.GetProperty("integrations").GetProperty("Segment.io");
        segmentIo.GetProperty("apiHost").GetString().Should().Be("cdp.example.org/v1");
        segmentIo.GetProperty("protocol").GetString().Should().Be("https");
    }

    [Theory]
    [InlineData("/sourceConfig/?p=npm&v=3.34.1&build=modern&writeKey=" + CdpHost.WriteKey + "&lockIntegrationsVersion=false&lockPluginsVersion=false")]
    [InlineData("/sourceConfig?writeKey=" + CdpHost.WriteKey)]
    public async Task The_rudderstack_source_config_names_the_source_with_no_destinations(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Origin", Shop);
        var response = await _host.CreateClient().SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        Header(response, "Access-Control-Allow-Origin").Should().Be(Shop);
        var source = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("source");
        source.GetProperty("id").GetString().Should().Be("web");
        source.GetProperty("enabled").GetBoolean().Should().BeTrue();
        source.GetProperty("destinations").GetArrayLength().Should().Be(0);
        source.GetProperty("config").GetProperty("statsCollection").GetProperty("errors").GetProperty("enabled").GetBoolean().Should().BeFalse();
        source.GetProperty("config").GetProperty("statsCollection").GetProperty("metrics").GetProperty("enabled").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task The_source_config_takes_the_write_key_from_basic_auth_answers_head_and_404s_an_unknown_key()
    {
        var byHeader = await _host.TrackingClient().GetAsync("/sourceConfig/?p=npm&v=3.34.1");
        byHeader.StatusCode.Should().Be(HttpStatusCode.OK);
        (await byHeader.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("source").GetProperty("id").GetString().Should().Be("web");
        var head = await _host.CreateClient().SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/sourceConfig/?view=ad&writeKey={CdpHost.WriteKey}"));
        head.StatusCode.Should().Be(HttpStatusCode.OK);
        var unknown = await _host.CreateClient().GetAsync("/sourceConfig/?writeKey=nope-nope-nope");
        unknown.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await unknown.Content.ReadAsStringAsync()).Should().Contain("Unknown write key");
    }

    [Fact]
    public async Task The_config_documents_answer_their_preflight()
    {
        var settings = await _host.CreateClient().SendAsync(Preflight($"/v1/projects/{CdpHost.WriteKey}/settings", Shop));
        settings.StatusCode.Should().Be(HttpStatusCode.NoContent);
        var config = await _host.CreateClient().SendAsync(Preflight("/sourceConfig/?p=npm&writeKey=" + CdpHost.WriteKey, Shop, "authorization"));
        config.StatusCode.Should().Be(HttpStatusCode.NoContent);
        Header(config, "Access-Control-Allow-Headers").Should().Be("authorization");
    }

    [Theory]
    [InlineData("*", "*")]
    [InlineData("https://shop.example", "https://shop.example")]
    [InlineData(" HTTPS://Shop.Example:443 ", "https://shop.example")]
    [InlineData("http://localhost:3000", "http://localhost:3000")]
    [InlineData("https://shop.example/", null)]
    [InlineData("https://shop.example/path", null)]
    [InlineData("https://shop.example?x=1", null)]
    [InlineData("https://user@shop.example", null)]
    [InlineData("shop.example", null)]
    [InlineData("", null)]
    public void An_allowed_origin_is_star_or_scheme_host_and_port_as_browsers_send_it(string configured, string? origin) =>
        Cdp.Modules.Collection.Ingest.AllowedOrigins.Normalise(configured).Should().Be(origin);

    [Fact]
    public async Task An_allowed_origin_that_is_not_an_origin_stops_the_start_with_exit_code_2_naming_the_key()
    {
        const string origin = "https://shop.example/path", key = "Cdp:Sources:web:AllowedOrigins:0";
        using var folder = new TempFolder();
        var (exitCode, output) = await CdpProcess.RunToExitAsync(folder.Path,
            new Dictionary<string, string> { ["Cdp__Sources__web__WriteKey"] = "web-write-key-123", ["Cdp__Sources__web__AllowedOrigins__0"] = origin },
            "check-config", $"--Cdp:Storage:Path={folder.File("cdp.db")}");
        exitCode.Should().Be(2, output);
        output.Should().Contain(key).And.Contain("scheme://host[:port]");
    }
}
