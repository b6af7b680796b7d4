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

    internal static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private IReadOnlyList<JsonElement> Logged() =>
        _host.Service<IEventLog>().ReadAfter(0, 10_000).Select(e => JsonDocument.Parse(e.Json).RootElement.Clone()).ToList();

    private async Task<JsonElement> DeadLetters()
    {
        var response = await _host.AdminClient().GetAsync("/api/collection/dead-letters");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items");
    }

    [Fact]
    public async Task Track_is_acknowledged_with_success_and_stored_in_the_log()
    {
        var response = await _host.TrackingClient().PostAsync("/v1/track", Json("""{"userId":"u1","event":"Signed Up","properties":{"plan":"pro"}}"""));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Be("""{"success":true}""");
        var stored = Logged().Should().ContainSingle().Subject;
        stored.GetProperty("type").GetString().Should().Be("track");
        stored.GetProperty("event").GetString().Should().Be("Signed Up");
        stored.GetProperty("properties").GetProperty("plan").GetString().Should().Be("pro");
        stored.GetProperty("messageId").GetString().Should().NotBeNullOrEmpty();
        stored.TryGetProperty("receivedAt", out _).Should().BeTrue();
    }

    [Theory]
    [InlineData("identify", """{"userId":"u1","traits":{"email":"a@b.c"}}""")]
    [InlineData("page", """{"anonymousId":"a1","name":"Home","properties":{"path":"/"}}""")]
    [InlineData("screen", """{"anonymousId":"a1","name":"Settings"}""")]
    [InlineData("group", """{"userId":"u1","groupId":"g1","traits":{"name":"Clinic"}}""")]
    [InlineData("alias", """{"userId":"u1","previousId":"a1"}""")]
    public async Task Every_call_type_is_stored_with_its_type(string type, string body)
    {
        var response = await _host.TrackingClient().PostAsync("/v1/" + type, Json(body));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        Logged().Should().ContainSingle().Which.GetProperty("type").GetString().Should().Be(type);
    }

    [Theory]
    [InlineData("/v1/batch")]
    [InlineData("/v1/import")]
    public async Task Batch_merges_its_context_and_integrations_into_each_call_and_the_call_wins(string path)
    {
        var body = """
        {"context":{"library":{"name":"analytics-node"},"ip":"10.0.0.1"},"integrations":{"All":true},
         "batch":[
           {"type":"track","userId":"u1","event":"A","context":{"ip":"192.168.1.1"}},
           {"type":"identify","anonymousId":"a1","traits":{"plan":"free"},"integrations":{"All":false}}
         ]}
        """;
        (await _host.TrackingClient().PostAsync(path, Json(body))).StatusCode.Should().Be(HttpStatusCode.OK);
        var events = Logged();
        events.Should().HaveCount(2);
        events[0].GetProperty("context").GetProperty("ip").GetString().Should().Be("192.168.1.1");
        events[0].GetProperty("context").GetProperty("library").GetProperty("name").GetString().Should().Be("analytics-node");
        events[0].GetProperty("integrations").GetProperty("All").GetBoolean().Should().BeTrue();
        events[1].GetProperty("context").GetProperty("ip").GetString().Should().Be("10.0.0.1");
        events[1].GetProperty("integrations").GetProperty("All").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task Fields_are_stored_with_the_same_values_whatever_their_escaping_and_spacing()
    {
        // an escaped name for a field the normaliser rewrites (\u0075serId is userId), an escaped ordinary name, escaped and
        // raw non-ASCII text, HTML-sensitive characters, spacing inside nested values, numbers kept as written
        var body = """
        {"\u0075serId":"u-1","event":"Caf\u00e9 <visit>","properties":{ "ti\u0074le" : "Crème & \"brûlée\"",
         "nested" : { "a" : [ 1, 2.50, {"b":null} ] }, "big": 12345678901234567890 },"sentAt":"2026-01-01T00:00:00Z"}
        """;
        (await _host.TrackingClient().PostAsync("/v1/track", Json(body))).StatusCode.Should().Be(HttpStatusCode.OK);
        var stored = Logged().Should().ContainSingle().Subject;
        stored.GetProperty("userId").GetString().Should().Be("u-1", "an escaped userId is still the userId");
        stored.EnumerateObject().Count(p => p.Name == "userId").Should().Be(1, "the escaped original is not copied as well");
        stored.GetProperty("event").GetString().Should().Be("Café <visit>");
        var properties = stored.GetProperty("properties");
        properties.GetProperty("title").GetString().Should().Be("Crème & \"brûlée\"");
        properties.GetProperty("nested").GetProperty("a")[1].GetRawText().Should().Be("2.50");
        properties.GetProperty("nested").GetProperty("a")[2].GetProperty("b").ValueKind.Should().Be(JsonValueKind.Null);
        properties.GetProperty("big").GetRawText().Should().Be("12345678901234567890");
        stored.GetProperty("sentAt").GetString().Should().NotBeNull();
    }

    [Fact]
    public async Task Missing_write_key_is_401()
    {
        var response = await _host.CreateClient().PostAsync("/v1/track", Json("""{"userId":"u1","event":"A"}"""));
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        Logged().Should().BeEmpty();
    }

    [Fact]
    public async Task Unknown_write_key_is_401()
    {
        var response = await _host.TrackingClient("not-a-configured-key").PostAsync("/v1/track", Json("""{"userId":"u1","event":"A"}"""));
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await response.Content.ReadAsStringAsync()).Should().Contain("write key");
    }

    [Fact]
    public async Task Write_key_in_the_body_authenticates()
    {
        var response = await _host.CreateClient().PostAsync("/v1/track", Json($$"""{"writeKey":"{{CdpHost.WriteKey}}","userId":"u1","event":"A"}"""));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var stored = Logged().Should().ContainSingle().Subject;
        stored.TryGetProperty("writeKey", out _).Should().BeFalse("the write key is a credential and is not stored");
        _host.Service<IEventLog>().ReadAfter(0, 10).Single().Source.Should().Be("web");
    }

    [Fact]
    public async Task An_event_over_32_KB_is_413_naming_the_limit()
    {
        var big = new string('x', 33 * 1024);
        var response = await _host.TrackingClient().PostAsync("/v1/track", Json($$$"""{"userId":"u1","event":"A","properties":{"blob":"{{{big}}}"}}"""));
        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        (await response.Content.ReadAsStringAsync()).Should().Contain("32 KB per event");
        Logged().Should().BeEmpty();
    }

    [Fact]
    public async Task A_batch_over_500_KB_is_413_naming_the_limit()
    {
        var item = $$$"""{"type":"track","userId":"u1","event":"A","properties":{"blob":"{{{new string('x', 20_000)}}}"}}""";
        var body = "{\"batch\":[" + string.Join(",", Enumerable.Repeat(item, 30)) + "]}";
        var response = await _host.TrackingClient().PostAsync("/v1/batch", Json(body));
        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        (await response.Content.ReadAsStringAsync()).Should().Contain("500 KB per batch");
    }

    [Fact]
    public async Task A_batch_over_2500_events_is_400_naming_the_limit()
    {
        var body = "{\"batch\":[" + string.Join(",", Enumerable.Repeat("""{"type":"track","userId":"u","event":"A"}""", 2501)) + "]}";
        var response = await _host.TrackingClient().PostAsync("/v1/batch", Json(body));
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("2,500 events per batch");
        Logged().Should().BeEmpty();
    }

    [Fact]
    public async Task A_batch_item_over_32_KB_is_a_dead_letter_and_the_others_are_stored()
    {
        var big = $$$"""{"type":"track","userId":"u1","event":"Big","properties":{"blob":"{{{new string('x', 33 * 1024)}}}"}}""";
        var body = "{\"batch\":[" + big + """,{"type":"track","userId":"u2","event":"Small"}]}""";
        (await _host.TrackingClient().PostAsync("/v1/batch", Json(body))).StatusCode.Should().Be(HttpStatusCode.OK);
        Logged().Should().ContainSingle().Which.GetProperty("event").GetString().Should().Be("Small");
        var dead = (await DeadLetters()).EnumerateArray().Should().ContainSingle().Subject;
        dead.GetProperty("errors")[0].GetProperty("message").GetString().Should().Contain("32 KB");
    }

    [Fact]
    public async Task Malformed_json_is_400_with_the_parse_position()
    {
        var response = await _host.TrackingClient().PostAsync("/v1/track", Json("{\"userId\":\"u1\",\n\"event\": }"));
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("detail").GetString().Should().Contain("line 2, byte 10");
    }

    [Fact]
    public async Task An_invalid_event_is_acknowledged_and_kept_as_a_dead_letter_with_its_reason()
    {
        var response = await _host.TrackingClient().PostAsync("/v1/track", Json("""{"event":"No One"}"""));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        Logged().Should().BeEmpty();
        var dead = (await DeadLetters()).EnumerateArray().Should().ContainSingle().Subject;
        dead.GetProperty("source").GetString().Should().Be("web");
        dead.GetProperty("errors")[0].GetProperty("field").GetString().Should().Be("userId");
        dead.GetProperty("errors")[0].GetProperty("message").GetString().Should().Be("userId or anonymousId is required");
        dead.GetProperty("raw").GetString().Should().Contain("No One");
    }

    [Fact]
    public async Task Strict_mode_header_rejects_the_request_naming_each_failing_index_and_field()
    {
        var client = _host.TrackingClient();
        client.DefaultRequestHeaders.Add("X-Strict-Mode", "1");
        var body = """{"batch":[{"type":"track","userId":"u1","event":"Ok"},{"type":"track","userId":"u2"},{"type":"alias","userId":"u3"}]}""";
        var response = await client.PostAsync("/v1/batch", Json(body));
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("index").GetInt32(), e.GetProperty("field").GetString())).ToList();
        errors.Should().BeEquivalentTo([(1, "event"), (2, "previousId")]);
        Logged().Should().BeEmpty("strict mode stores nothing from a request with an invalid event");
    }

    [Fact]
    public async Task A_source_configured_strict_rejects_invalid_events_with_400()
    {
        var response = await _host.TrackingClient(CdpHost.StrictWriteKey).PostAsync("/v1/group", Json("""{"userId":"u1"}"""));
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("groupId");
    }

    [Theory]
    [InlineData("""{"userId":{"id":1},"event":"A"}""", "userId")]
    [InlineData("""{"userId":"u1","event":"A","timestamp":"last tuesday"}""", "timestamp")]
    [InlineData("""{"userId":"u1","event":"A","properties":[1,2]}""", "properties")]
    [InlineData("""{"userId":"u1","event":42}""", "event")]
    public async Task Wrong_types_are_dead_letters_naming_the_field(string body, string field)
    {
        (await _host.TrackingClient().PostAsync("/v1/track", Json(body))).StatusCode.Should().Be(HttpStatusCode.OK);
        Logged().Should().BeEmpty();
        var dead = (await DeadLetters()).EnumerateArray().Should().ContainSingle().Subject;
        dead.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).Should().Contain(field);
    }

    [Fact]
    public async Task A_message_id_over_100_characters_is_invalid()
    {
        var body = $$"""{"userId":"u1","event":"A","messageId":"{{new string('m', 101)}}"}""";
        await _host.TrackingClient().PostAsync("/v1/track", Json(body));
        Logged().Should().BeEmpty();
        (await DeadLetters()).EnumerateArray().Single().GetProperty("errors")[0].GetProperty("field").GetString().Should().Be("messageId");
    }

    [Fact]
    public async Task More_than_300_properties_is_invalid()
    {
        var props = string.Join(",", Enumerable.Range(0, 301).Select(i => $"\"p{i}\":{i}"));
        await _host.TrackingClient().PostAsync("/v1/track", Json("{\"userId\":\"u1\",\"event\":\"A\",\"properties\":{" + props + "}}"));
        Logged().Should().BeEmpty();
        (await DeadLetters()).EnumerateArray().Single().GetProperty("errors")[0].GetProperty("field").GetString().Should().Be("properties");
    }

    [Fact]
    public async Task Numeric_user_ids_are_accepted_and_stored_as_strings()
    {
        await _host.TrackingClient().PostAsync("/v1/identify", Json("""{"userId":12345}"""));
        Logged().Single().GetProperty("userId").GetString().Should().Be("12345");
    }

    [Fact]
    public async Task Timestamp_is_corrected_for_the_client_clock_skew_using_sent_at()
    {
        // the client's clock is 1 hour behind: it sent at 09:00:10 (its time) an event it stamped 09:00:00
        var body = """{"userId":"u1","event":"A","timestamp":"2024-05-01T09:00:00Z","sentAt":"2024-05-01T09:00:10Z"}""";
        await _host.TrackingClient().PostAsync("/v1/track", Json(body));
        var stored = Logged().Single();
        var receivedAt = stored.GetProperty("receivedAt").GetDateTimeOffset();
        stored.GetProperty("timestamp").GetDateTimeOffset().Should().Be(receivedAt - TimeSpan.FromSeconds(10));
        stored.GetProperty("originalTimestamp").GetDateTimeOffset().Should().Be(new DateTimeOffset(2024, 5, 1, 9, 0, 0, TimeSpan.Zero));
        receivedAt.Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Without_sent_at_the_timestamp_is_kept_and_without_both_it_is_received_at()
    {
        await _host.TrackingClient().PostAsync("/v1/track", Json("""{"userId":"u1","event":"A","timestamp":"2024-05-01T09:00:00+02:00"}"""));
        await _host.TrackingClient().PostAsync("/v1/track", Json("""{"userId":"u1","event":"B"}"""));
        var events = Logged();
        events[0].GetProperty("timestamp").GetDateTimeOffset().Should().Be(new DateTimeOffset(2024, 5, 1, 7, 0, 0, TimeSpan.Zero));
        events[1].GetProperty("timestamp").GetString().Should().Be(events[1].GetProperty("receivedAt").GetString());
    }

    [Fact]
    public async Task A_duplicate_message_id_from_the_same_source_is_acknowledged_and_stored_once()
    {
        var body = """{"userId":"u1","event":"A","messageId":"m-1"}""";
        (await _host.TrackingClient().PostAsync("/v1/track", Json(body))).StatusCode.Should().Be(HttpStatusCode.OK);
        (await _host.TrackingClient().PostAsync("/v1/track", Json(body))).StatusCode.Should().Be(HttpStatusCode.OK);
        var batch = """{"batch":[{"type":"track","userId":"u1","event":"A","messageId":"m-1"},{"type":"track","userId":"u1","event":"A","messageId":"m-2"},{"type":"track","userId":"u1","event":"A","messageId":"m-2"}]}""";
        (await _host.TrackingClient().PostAsync("/v1/batch", Json(batch))).StatusCode.Should().Be(HttpStatusCode.OK);
        Logged().Select(e => e.GetProperty("messageId").GetString()).Should().Equal("m-1", "m-2");
    }

    [Fact]
    public async Task Past_DedupMaxEntries_the_oldest_message_ids_are_forgotten_early_and_counted()
    {
        // one host (the default, on either provider): its memory is the dedup window. With several hosts on PostgreSQL the
        // database's keys, pruned to the bound once a minute, also catch d-0 (PostgresEventLogStoreTests covers that bound)
        using var host = new CdpHost(new Dictionary<string, string?> { ["Cdp:Collection:DedupMaxEntries"] = "1000" });
        var client = host.TrackingClient();
        for (var from = 0; from < 1500; from += 500)
        {
            var body = "{\"batch\":[" + string.Join(",", Enumerable.Range(from, 500).Select(i => $$"""{"type":"track","userId":"u","event":"E","messageId":"d-{{i}}"}""")) + "]}";
            (await client.PostAsync("/v1/batch", Json(body))).StatusCode.Should().Be(HttpStatusCode.OK);
        }

        (await client.PostAsync("/v1/track", Json("""{"userId":"u","event":"E","messageId":"d-0"}"""))).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.PostAsync("/v1/track", Json("""{"userId":"u","event":"E","messageId":"d-1499"}"""))).StatusCode.Should().Be(HttpStatusCode.OK);

        var ids = host.Service<IEventLog>().ReadAfter(0, 5000).Select(e => e.MessageId).ToList();
        ids.Should().HaveCount(1501, "d-0 was forgotten (the index holds 1,000) and is stored again; d-1499 is still a duplicate");
        ids.Count(id => id == "d-0").Should().Be(2);
        ids.Count(id => id == "d-1499").Should().Be(1);
        var metrics = await host.AdminClient().MetricsText();
        metrics.Should().Contain("cdp_dedup_evicted_early_total 501").And.Contain("cdp_dedup_entries 1000");
    }

    [Fact]
    public async Task The_same_message_id_from_another_source_is_another_event()
    {
        var body = """{"userId":"u1","event":"A","messageId":"m-1"}""";
        await _host.TrackingClient().PostAsync("/v1/track", Json(body));
        await _host.TrackingClient(CdpHost.StrictWriteKey).PostAsync("/v1/track", Json(body));
        Logged().Should().HaveCount(2);
    }

    [Fact]
    public async Task Concurrent_requests_get_contiguous_sequences_each_event_once()
    {
        var client = _host.TrackingClient();
        var tasks = Enumerable.Range(0, 200).Select(i =>
            client.PostAsync("/v1/track", Json($$"""{"userId":"u{{i}}","event":"A","messageId":"c-{{i}}"}"""))).ToList();
        foreach (var response in await Task.WhenAll(tasks)) response.StatusCode.Should().Be(HttpStatusCode.OK);
        var events = _host.Service<IEventLog>().ReadAfter(0, 1000);
        events.Select(e => e.Sequence).Should().Equal(Enumerable.Range(1, 200).Select(i => (long)i));
        events.Select(e => e.MessageId).Should().BeEquivalentTo(Enumerable.Range(0, 200).Select(i => $"c-{i}"));
    }

    [Fact]
    public async Task Reading_after_a_sequence_inside_a_chunk_starts_at_the_next_event()
    {
        var body = "{\"batch\":[" + string.Join(",", Enumerable.Range(0, 600).Select(i => $$"""{"type":"track","userId":"u","event":"E{{i}}"}""")) + "]}";
        await _host.TrackingClient().PostAsync("/v1/batch", Json(body));
        var log = _host.Service<IEventLog>();
        log.LastSequence.Should().Be(600);
        log.ReadAfter(299, 2).Select(e => e.Sequence).Should().Equal(300, 301);
        log.ReadAfter(0, 1000).Should().HaveCount(600);
        log.ReadAfter(600, 10).Should().BeEmpty();
    }

    [Fact]
    public async Task Group_commits_of_large_events_are_split_into_chunks_below_the_document_limit()
    {
        var blob = new string('x', 30_000);
        var item = "{\"type\":\"track\",\"userId\":\"u\",\"event\":\"Big\",\"properties\":{\"blob\":\"" + blob + "\"}}";
        var body = "{\"batch\":[" + string.Join(",", Enumerable.Repeat(item, 16)) + "]}"; // ~480 KB per request
        var client = _host.TrackingClient();
        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => client.PostAsync("/v1/batch", Json(body))));
        responses.Should().OnlyContain(r => r.StatusCode == HttpStatusCode.OK);
        var events = _host.Service<IEventLog>().ReadAfter(0, 1_000);
        events.Select(e => e.Sequence).Should().Equal(Enumerable.Range(1, 24 * 16).Select(i => (long)i));
        events.Should().OnlyContain(e => e.Json.Length > 30_000);
        if (CdpHost.DefaultProvider != Cdp.Modules.Shared.Storage.StorageProviders.LiteDb) return; // PostgreSQL keeps a row per event: no chunks
        var chunks = _host.Service<Cdp.Modules.Shared.Storage.CdpDatabase>().Collection("event_log").FindAll().ToList();
        chunks.Should().OnlyContain(c => c["ev"].AsArray.Sum(e => e["j"].AsBinary.Length) <= Cdp.Modules.Collection.EventLog.LiteDb.EventLogSchema.MaxChunkBytes);
    }

    [Fact]
    public async Task Admin_endpoints_refuse_requests_without_an_admin_key()
    {
        (await _host.CreateClient().GetAsync("/api/collection/dead-letters")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await _host.AdminClient("wrong-key-wrong-key").GetAsync("/api/collection/dead-letters")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await _host.AdminClient(CdpHost.AnalystKey).GetAsync("/api/collection/dead-letters")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_event_log_endpoint_pages_in_sequence_order()
    {
        for (var i = 0; i < 5; i++) await _host.TrackingClient().PostAsync("/v1/track", Json($$"""{"userId":"u1","event":"E{{i}}"}"""));
        var page = await _host.AdminClient().GetFromJsonAsync<JsonElement>("/api/collection/events?cursor=1&limit=2");
        page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("sequence").GetInt64()).Should().Equal(2, 3);
        page.GetProperty("nextCursor").GetString().Should().Be("3");
        page.GetProperty("items")[0].GetProperty("payload").GetProperty("event").GetString().Should().Be("E1");
    }

    [Fact]
    public async Task Health_and_openapi_endpoints_answer()
    {
        var client = _host.CreateClient();
        (await client.GetAsync("/health/live")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.GetAsync("/health/ready")).StatusCode.Should().Be(HttpStatusCode.OK);
        var openApi = await client.GetStringAsync("/openapi/v1.json");
        openApi.Should().Contain("/v1/track").And.Contain("/api/collection/dead-letters");
    }
}
