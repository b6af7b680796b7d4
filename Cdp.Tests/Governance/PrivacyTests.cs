using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Segments.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using Cdp.Modules.Pipeline.Contracts;


namespace Cdp.Tests.Governance;

/// <summary>Deletion, suppression and subject access export through the real host (/v1 in, /api/privacy out, the raw log read back).</summary>
public sealed class PrivacyTests
{
    private const string Email = "jane.doe@example.com";
    private const string Phone = "+16502530000";

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Cdp:Segments:buyers:Where"] = "performed \"Order Completed\" within 30d",
    };

    public static TheoryData<string> Providers => CdpHost.Providers;

    private static string Now(int minutes = 0) => DateTime.UtcNow.AddMinutes(minutes).ToString("O");

    /// <summary>Jane: an anonymous visit, then identify (user id, email, phone), then two orders. Bob: an order.</summary>
    private static async Task SeedAsync(CdpHost host)
    {
        var tracking = host.TrackingClient();
        await tracking.SendBatch([
            $$"""{"type":"page","anonymousId":"anon-jane","name":"Home","properties":{"path":"/"},"timestamp":"{{Now(-10)}}"}""",
            $$"""{"type":"identify","userId":"u-jane","traits":{"email":"{{Email}}","phone":"(650) 253-0000","first_name":"Jane"},"timestamp":"{{Now(-9)}}"}""",
            $$"""{"type":"track","userId":"u-jane","anonymousId":"anon-jane","event":"Order Completed","properties":{"total":12.5,"note":"ring me on {{Phone}}"},"timestamp":"{{Now(-8)}}"}""",
            $$$"""{"type":"track","userId":"u-jane","event":"Order Completed","properties":{"total":30},"context":{"traits":{"email":"{{{Email}}}"}},"timestamp":"{{{Now(-7)}}}"}""",
            $$"""{"type":"track","userId":"u-bob","event":"Order Completed","properties":{"total":5},"timestamp":"{{Now(-6)}}"}""",
            $$"""{"type":"track","userId":"u-jane","properties":{"total":1},"timestamp":"{{Now(-5)}}"}""", // no event name: a dead letter
            $$"""{"type":"track","userId":"u-bob","timestamp":"{{Now(-5)}}"}""", // no event name: a dead letter
        ]);
        await host.Processed();
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(expected, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static Task<HttpResponseMessage> PostJson(HttpClient client, string path, object body) =>
        client.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));

    /// <summary>Every event JSON as stored (LiteDB's log chunks, or PostgreSQL's cdp_event_log rows), by sequence.</summary>
    private static Dictionary<long, string> RawLog(CdpHost host)
    {
        var result = new Dictionary<long, string>();
        if (host.Service<Microsoft.Extensions.Options.IOptions<StorageOptions>>().Value.UsesPostgreSql)
        {
            using var cmd = host.Service<Cdp.Modules.Shared.Storage.PostgreSql.PostgresDatabase>().DataSource.CreateCommand("SELECT seq, body FROM cdp_event_log");
            using var r = cmd.ExecuteReader();
            while (r.Read()) result[r.GetInt64(0)] = Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(1));
            return result;
        }
        foreach (var chunk in host.Service<CdpDatabase>().Collection("event_log").FindAll().ToList())
        {
            var seq = chunk["_id"].AsInt64;
            foreach (var e in chunk["ev"].AsArray) result[seq++] = Encoding.UTF8.GetString(e["j"].AsBinary);
        }
        return result;
    }

    [Fact]
    public async Task Delete_by_profile_id_erases_profile_identifiers_events_memberships_and_the_receipt_counts_match()
    {
        using var host = CdpHost.LiteDbOnly("reads the stored log and dead letters in cdp.db", Settings);
        await SeedAsync(host);
        var admin = host.AdminClient();
        var jane = await admin.ProfileId("user_id:u-jane");
        var bob = await admin.ProfileId("user_id:u-bob");
        host.Service<ISegmentMembership>().Members("buyers").Should().BeEquivalentTo(jane, bob);
        var eventsBefore = RawLog(host).Count;

        var receipt = await Json(await admin.DeleteAsync($"/api/privacy/profiles/{jane}"));

        receipt.GetProperty("profileId").GetString().Should().Be(jane);
        receipt.GetProperty("receiptId").GetString().Should().StartWith("del_");
        var erased = receipt.GetProperty("erased");
        erased.GetProperty("profiles").GetInt64().Should().Be(1);
        erased.GetProperty("identifiers").GetInt64().Should().Be(4, "user_id, email, phone, anonymous_id");
        erased.GetProperty("events").GetInt64().Should().Be(4);
        erased.GetProperty("memberships").GetInt64().Should().Be(1);
        erased.GetProperty("membershipHistory").GetInt64().Should().Be(1);
        erased.GetProperty("mergeRecords").GetInt64().Should().Be(1, "the visitor profile was merged into the known one");
        erased.GetProperty("mergedAwayProfiles").GetInt64().Should().Be(1);
        erased.GetProperty("deadLetters").GetInt64().Should().Be(1, "bob's dead letter stays");
        receipt.GetProperty("suppressedIdentifiers").GetInt32().Should().Be(4);
        var receiptText = receipt.GetRawText();
        receiptText.Should().NotContainAny("jane", "u-jane", "anon-jane", "6502530000", "example.com");

        (await admin.GetAsync($"/api/profiles/{jane}")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await admin.GetAsync("/api/profiles/" + Uri.EscapeDataString("email:" + Email))).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await admin.GetAsync("/api/profiles/anonymous_id:anon-jane")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        host.Service<ISegmentMembership>().Members("buyers").Should().Equal(bob);
        var history = await admin.GetFromJsonAsync<JsonElement>("/api/segments/buyers/history");
        history.GetRawText().Should().NotContain(jane);
        (await admin.Profile(bob)).Should().NotBeNull("nobody else is touched");

        var log = RawLog(host);
        log.Should().HaveCount(eventsBefore, "the log keeps every sequence: erased events are rewritten in place");
        var erasedEvents = log.Values.Where(j => j.Contains("\"erased\":true")).ToList();
        erasedEvents.Should().HaveCount(4);
        string.Concat(log.Values).Should().NotContainAny("u-jane", "anon-jane", "jane.doe", "Jane", "6502530000", "(650) 253-0000", "ring me");
        erasedEvents.Should().OnlyContain(j => j.Contains("\"timestamp\"") && j.Contains("\"messageId\"") && j.Contains("\"type\""));
        log.Values.Should().Contain(j => j.Contains("u-bob"));
        var deadLetters = host.Service<CdpDatabase>().Collection("dead_letters").FindAll().Select(d => d["raw"].AsString).ToList();
        deadLetters.Should().ContainSingle().Which.Should().Contain("u-bob");

        var again = await Json(await admin.GetAsync($"/api/privacy/deletions/{receipt.GetProperty("receiptId").GetString()}"));
        again.GetProperty("erased").GetRawText().Should().Be(erased.GetRawText());
        again.GetProperty("requestedBy").GetString().Should().Be("ops");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Events_still_waiting_for_the_processor_at_deletion_are_erased_too_and_never_attributed(string provider)
    {
        using var host = await CdpHost.OnAsync(provider, Settings);
        await SeedAsync(host);
        var admin = host.AdminClient();
        var jane = await admin.ProfileId("user_id:u-jane");
        var processor = host.Service<Cdp.Modules.Pipeline.Contracts.IProfileProcessor>();
        using var gate = new ManualResetEventSlim();
        var paused = processor.RunExclusiveAsync(() => gate.Wait(TimeSpan.FromSeconds(60)), CancellationToken.None); // holds the processor
        await host.TrackingClient().SendBatch([
            $$"""{"type":"track","userId":"u-jane","event":"Late Order","properties":{"secret":"late-jane-data"},"timestamp":"{{Now()}}"}""",
            """{"type":"track","anonymousId":"other-device","event":"Late Order","context":{"traits":{"email":"EMAIL"}},"timestamp":"TS"}""".Replace("EMAIL", Email).Replace("TS", Now()),
        ]);
        processor.Status.Checkpoint.Should().BeLessThan(host.Service<IEventLog>().LastSequence, "the two events wait for the processor");

        var deletion = admin.DeleteAsync($"/api/privacy/profiles/{jane}");
        // the signal that the deletion waits on the processor's thread behind the held command, with the two events unprocessed
        await Eventually.Until(() => processor.Status.QueuedCommands == 1, "the deletion to queue behind the held command");
        processor.Status.Checkpoint.Should().BeLessThan(host.Service<IEventLog>().LastSequence, "the two events still wait when the deletion runs");
        gate.Set();
        await paused;
        var receipt = await Json(await deletion);
        await host.Processed();

        receipt.GetProperty("erased").GetProperty("events").GetInt64().Should().Be(4 + 2);
        string.Concat(RawLog(host).Values).Should().NotContainAny("late-jane-data", "jane.doe", "u-jane", "other-device");
        (await admin.Profile("anonymous_id:other-device")).Should().BeNull("its only event was erased before the processor saw it");
        (await admin.Profile("email:" + Email)).Should().BeNull();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Delete_by_email_normalises_like_identity_does_and_unknown_people_are_404(string provider)
    {
        using var host = await CdpHost.OnAsync(provider, Settings);
        await SeedAsync(host);
        var admin = host.AdminClient();
        var jane = await admin.ProfileId("user_id:u-jane");

        (await admin.DeleteAsync("/api/privacy/profiles/p_999999")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await PostJson(admin, "/api/privacy/deletions", new { identifierType = "email", value = "nobody@example.com" })).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await admin.GetAsync("/api/privacy/deletions/del_unknown")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await admin.GetAsync("/api/privacy/profiles/p_999999/export")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        var badType = await Json(await PostJson(admin, "/api/privacy/deletions", new { identifierType = "shoe_size", value = "42" }), HttpStatusCode.BadRequest);
        badType.GetProperty("field").GetString().Should().Be("identifierType");
        (await admin.DeleteAsync("/api/privacy/profiles/jane")).StatusCode.Should().Be(HttpStatusCode.BadRequest);

        var receipt = await Json(await PostJson(admin, "/api/privacy/deletions", new { identifierType = "email", value = "  Jane.Doe@EXAMPLE.com " }));

        receipt.GetProperty("profileId").GetString().Should().Be(jane);
        receipt.GetProperty("erased").GetProperty("profiles").GetInt64().Should().Be(1);
        (await admin.Profile(jane)).Should().BeNull();
        (await PostJson(admin, "/api/privacy/deletions", new { identifierType = "email", value = Email })).StatusCode.Should().Be(HttpStatusCode.NotFound, "gone already");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Reprocess_after_a_deletion_does_not_bring_the_person_back(string provider)
    {
        using var host = await CdpHost.OnAsync(provider, Settings);
        await SeedAsync(host);
        var admin = host.AdminClient();
        var jane = await admin.ProfileId("user_id:u-jane");
        var bob = await admin.ProfileId("user_id:u-bob");
        (await admin.DeleteAsync($"/api/privacy/profiles/{jane}")).EnsureSuccessStatusCode();

        (await admin.PostAsync("/api/profiles/reprocess", null)).EnsureSuccessStatusCode();
        await host.Processed();

        (await admin.Profile("user_id:u-jane")).Should().BeNull();
        (await admin.Profile("email:" + Email)).Should().BeNull();
        (await admin.Profile("anonymous_id:anon-jane")).Should().BeNull();
        (await admin.ProfileId("user_id:u-bob")).Should().Be(bob);
        var list = await admin.GetFromJsonAsync<JsonElement>("/api/profiles");
        list.GetProperty("profiles").EnumerateArray().Select(p => p.GetProperty("id").GetString()).Should().Equal(bob);
        host.Service<ISegmentMembership>().Members("buyers").Should().Equal(bob);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Suppressed_identifiers_are_refused_at_collection_and_unsuppressing_lets_them_back(string provider)
    {
        using var host = await CdpHost.OnAsync(provider, Settings);
        await SeedAsync(host);
        var admin = host.AdminClient();
        var tracking = host.TrackingClient();
        (await admin.DeleteAsync($"/api/privacy/profiles/{await admin.ProfileId("user_id:u-jane")}")).EnsureSuccessStatusCode();
        var log = host.Service<IEventLog>();
        var head = log.LastSequence;

        await tracking.Send("track", $$"""{"anonymousId":"anon-jane","event":"Viewed","timestamp":"{{Now()}}"}""");
        await tracking.Send("identify", $$$"""{"anonymousId":"new-cookie","traits":{"email":"JANE.DOE@example.com"}}""");
        await tracking.SendBatch([
            $$"""{"type":"track","userId":"u-jane","event":"Viewed"}""",
            $$"""{"type":"track","userId":"u-carol","event":"Viewed"}""",
            """{"type":"track","anonymousId":"x","event":"Viewed","context":{"traits":{"phone":"650-253-0000"}}}""",
        ]);

        log.LastSequence.Should().Be(head + 1, "only carol's event is stored");
        RawLog(host)[head + 1].Should().Contain("u-carol");
        var metrics = await admin.MetricsText();
        metrics.Should().Contain("cdp_events_suppressed_total 4");

        var list = await Json(await admin.GetAsync("/api/privacy/suppressions"));
        list.GetProperty("count").GetInt64().Should().Be(4);
        list.GetRawText().Should().NotContainAny("jane", "anon-", "6502530000");
        var entries = list.GetProperty("suppressions").EnumerateArray().ToList();
        entries.Should().OnlyContain(s => s.GetProperty("hash").GetString()!.Length == 64 && s.GetProperty("receiptId").GetString()!.StartsWith("del_"));
        var anonymous = entries.Single(s => s.GetProperty("type").GetString() == "anonymous_id").GetProperty("hash").GetString();

        (await admin.DeleteAsync($"/api/privacy/suppressions/{anonymous}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await admin.DeleteAsync($"/api/privacy/suppressions/{anonymous}")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        await tracking.Send("track", $$"""{"anonymousId":"anon-jane","event":"Viewed","timestamp":"{{Now()}}"}""");
        log.LastSequence.Should().Be(head + 2);
        await host.Processed();
        (await admin.Profile("anonymous_id:anon-jane")).Should().NotBeNull("un-suppressed: the cookie is a new visitor");
        (await admin.Profile("anonymous_id:anon-jane"))!.Value.GetProperty("traits").GetRawText().Should().Be("{}");
    }

    [Fact]
    public async Task An_identifier_can_be_suppressed_without_a_deletion()
    {
        using var host = new CdpHost(Settings);
        var admin = host.AdminClient();
        var created = await Json(await PostJson(admin, "/api/privacy/suppressions", new { identifierType = "email", value = "Opted.Out@example.com" }), HttpStatusCode.Created);
        created.GetProperty("type").GetString().Should().Be("email");
        created.GetProperty("receiptId").ValueKind.Should().Be(JsonValueKind.Null);
        (await PostJson(admin, "/api/privacy/suppressions", new { identifierType = "email", value = "opted.out@example.com" })).StatusCode.Should().Be(HttpStatusCode.OK, "already suppressed");
        (await PostJson(admin, "/api/privacy/suppressions", new { identifierType = "email", value = "not an email" })).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var log = host.Service<IEventLog>();

        await host.TrackingClient().Send("identify", """{"userId":"u-opt","traits":{"email":"opted.out@EXAMPLE.com"}}""");

        log.LastSequence.Should().Be(0);
    }

    [Fact]
    public async Task An_analyst_key_can_neither_delete_nor_export_nor_see_suppressions()
    {
        using var host = new CdpHost(Settings);
        await SeedAsync(host);
        var analyst = host.AdminClient(CdpHost.AnalystKey);
        var jane = await analyst.ProfileId("user_id:u-jane");

        (await analyst.DeleteAsync($"/api/privacy/profiles/{jane}")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await PostJson(analyst, "/api/privacy/deletions", new { identifierType = "email", value = Email })).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await analyst.GetAsync($"/api/privacy/profiles/{jane}/export")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await analyst.GetAsync("/api/privacy/suppressions")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await host.CreateClient().DeleteAsync($"/api/privacy/profiles/{jane}")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await analyst.Profile(jane)).Should().NotBeNull();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Export_holds_profile_identifiers_consent_merges_events_memberships_and_history(string provider)
    {
        using var host = await CdpHost.OnAsync(provider, Settings);
        var tracking = host.TrackingClient();
        // a visitor profile and a known-user profile, merged by an event carrying both ids
        await tracking.Send("page", """{"anonymousId":"anon-jane","name":"Home","timestamp":"TS","context":{"consent":{"categoryPreferences":{"Advertising":true,"Analytics":false}}}}""".Replace("TS", Now(-10)));
        await host.Processed();
        await tracking.Send("identify", $$"""{"userId":"u-jane","traits":{"email":"{{Email}}","first_name":"Jane","marketing_consent":"yes"},"timestamp":"{{Now(-9)}}"}""");
        await host.Processed();
        await tracking.Send("track", $$"""{"userId":"u-jane","anonymousId":"anon-jane","event":"Order Completed","properties":{"total":12},"timestamp":"{{Now(-8)}}"}""");
        await host.Processed();
        var admin = host.AdminClient();
        var jane = await admin.ProfileId("user_id:u-jane");

        var export = await Json(await admin.GetAsync($"/api/privacy/profiles/{jane}/export"));

        export.GetProperty("profileId").GetString().Should().Be(jane);
        export.GetProperty("profileIds").GetArrayLength().Should().Be(2);
        var profile = export.GetProperty("profile");
        profile.GetProperty("traits").GetProperty("first_name").GetString().Should().Be("Jane");
        profile.GetProperty("computedTraits").ValueKind.Should().Be(JsonValueKind.Object);
        profile.GetProperty("consent").GetProperty("marketing").GetProperty("granted").GetBoolean().Should().BeTrue();
        profile.GetProperty("consent").GetProperty("advertising").GetProperty("source").GetString().Should().Be("context.consent");
        var identity = export.GetProperty("identity");
        identity.GetProperty("identifiers").EnumerateArray().Select(i => i.GetProperty("type").GetString()).Should().BeEquivalentTo("user_id", "email", "anonymous_id");
        identity.GetProperty("mergeRecords").GetArrayLength().Should().Be(1);
        export.GetProperty("events").GetArrayLength().Should().Be(3);
        export.GetProperty("events")[0].GetProperty("anonymousId").GetString().Should().Be("anon-jane");
        export.GetProperty("segments").GetProperty("memberships").EnumerateArray().Single().GetProperty("segment").GetString().Should().Be("buyers");
        export.GetProperty("segments").GetProperty("history").GetArrayLength().Should().BeGreaterThan(0);
        export.GetProperty("syncs").ValueKind.Should().Be(JsonValueKind.Array);

        var byEmail = await Json(await admin.GetAsync("/api/privacy/profiles/" + Uri.EscapeDataString("email:" + Email) + "/export"));
        byEmail.GetProperty("profileId").GetString().Should().Be(jane);
    }

    [Fact]
    public async Task Consent_comes_from_context_consent_and_mapped_traits_and_the_latest_statement_wins()
    {
        using var host = new CdpHost(new Dictionary<string, string?> { ["Cdp:Profiles:ConsentTraits:newsletter_optin"] = "email" });
        var tracking = host.TrackingClient();
        await tracking.SendBatch([
            $$"""{"type":"identify","userId":"u1","traits":{"marketing_consent":true,"newsletter_optin":"granted"},"timestamp":"{{Now(-10)}}"}""",
            """{"type":"track","userId":"u1","event":"Viewed","timestamp":"TS","context":{"consent":{"categoryPreferences":{"Marketing":false,"Analytics":true}}}}""".Replace("TS", Now(-5)),
            // older than the revocation: does not win
            $$"""{"type":"identify","userId":"u1","traits":{"marketing_consent":true},"timestamp":"{{Now(-7)}}"}""",
        ]);
        await host.Processed();

        var consent = (await host.AdminClient().Profile("user_id:u1"))!.Value.GetProperty("consent");

        consent.GetProperty("marketing").GetProperty("granted").GetBoolean().Should().BeFalse();
        consent.GetProperty("marketing").GetProperty("source").GetString().Should().Be("context.consent");
        consent.GetProperty("analytics").GetProperty("granted").GetBoolean().Should().BeTrue();
        consent.GetProperty("email").GetProperty("granted").GetBoolean().Should().BeTrue();
        consent.GetProperty("email").GetProperty("source").GetString().Should().Be("trait:newsletter_optin");
        consent.GetProperty("email").GetProperty("at").GetDateTime().Should().BeCloseTo(DateTime.UtcNow.AddMinutes(-10), TimeSpan.FromMinutes(1));
    }
}
