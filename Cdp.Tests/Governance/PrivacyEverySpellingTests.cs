using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using LiteDB;
using Microsoft.Extensions.DependencyInjection;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Governance;

/// <summary>
/// Suppression, export and erasure share one notion of a person's identifiers: any field, any case, any spelling that
/// normalises to theirs (issue 22). Real host, real log, dead letters and processor failures read back from the database.
/// </summary>
public sealed class PrivacyEverySpellingTests
{
    /// <summary>LiteDB only, whatever CDP_TEST_PROVIDER says: reads the stored log, dead letters and set-aside events in cdp.db (PrivacyTests' provider theories cover erasure on PostgreSQL).</summary>
    private const string LiteDbOnlyBecause = "reads the stored log, dead letters and set-aside events in cdp.db (PrivacyTests' provider theories cover erasure on PostgreSQL)";

    private static string Now(int minutes = 0) => DateTime.UtcNow.AddMinutes(minutes).ToString("O");

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static List<string> RawLog(CdpHost host)
    {
        var result = new List<string>();
        foreach (var chunk in host.Service<CdpDatabase>().Collection("event_log").FindAll().ToList())
            foreach (var e in chunk["ev"].AsArray) result.Add(Encoding.UTF8.GetString(e["j"].AsBinary));
        return result;
    }

    private static List<string> DeadLetters(CdpHost host) =>
        host.Service<CdpDatabase>().Collection("dead_letters").FindAll().Select(d => d["raw"].AsString).ToList();

    [Fact]
    public async Task After_a_deletion_the_persons_email_or_phone_in_any_field_case_or_spelling_is_not_stored()
    {
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause);
        var tracking = host.TrackingClient();
        await tracking.Send("identify", $$"""{"userId":"u-jane","traits":{"email":"Jane.Doe@gmail.com","phone":"(650) 253-0000"},"timestamp":"{{Now(-5)}}"}""");
        await host.Processed();
        var admin = host.AdminClient();
        (await admin.DeleteAsync($"/api/privacy/profiles/{await admin.ProfileId("user_id:u-jane")}")).EnsureSuccessStatusCode();
        var log = host.Service<IEventLog>();
        var head = log.LastSequence;

        var spellings = new Dictionary<string, string>
        {
            ["traits.Email (capital E)"] = """{"type":"identify","anonymousId":"c1","traits":{"Email":"Jane.Doe@gmail.com"}}""",
            ["properties.email on a track"] = """{"type":"track","anonymousId":"c2","event":"Viewed","properties":{"email":"jane.doe@gmail.com"}}""",
            ["the email as the userId"] = """{"type":"track","userId":"Jane.Doe@gmail.com","event":"Viewed"}""",
            ["traits.email_address"] = """{"type":"identify","anonymousId":"c3","traits":{"email_address":"jane.doe@gmail.com"}}""",
            ["context.externalIds type email"] = """{"type":"identify","anonymousId":"c4","context":{"externalIds":[{"type":"email","id":"jane.doe@gmail.com","collection":"users","encoding":"none"}]}}""",
            ["googlemail.com with dots and a +tag"] = """{"type":"identify","anonymousId":"c5","traits":{"email":"J.A.N.E.D.O.E+promo@googlemail.com"}}""",
            ["context.traits.EMAIL"] = """{"type":"track","anonymousId":"c6","event":"Viewed","context":{"traits":{"EMAIL":"JANE.DOE@GMAIL.COM"}}}""",
            ["the phone under another name and format"] = """{"type":"track","anonymousId":"c7","event":"Called","properties":{"caller":"+1 650.253.0000"}}""",
            ["traits.Phone"] = """{"type":"identify","anonymousId":"c8","traits":{"Phone":"650-253-0000"}}""",
            ["an escaped @ in a note"] = """{"type":"identify","anonymousId":"c10","traits":{"note":"mail jane.doe\u0040gmail.com"}}""",
        };
        foreach (var (spelling, json) in spellings)
        {
            await tracking.SendBatch([json]);
            log.LastSequence.Should().Be(head, $"{spelling} carries the deleted person's identifier: acknowledged, not stored");
        }
        var deadLetters = DeadLetters(host).Count;
        await tracking.SendBatch(["""["call back", "+1 (650) 253-0000"]""", """{"type":"track","properties":{"contact":"Jane.Doe+x@googlemail.com"}}"""]);
        DeadLetters(host).Should().HaveCount(deadLetters, "refused events carrying her identifiers in their raw text are not kept as dead letters either");
        await tracking.SendBatch(["""{"type":"track","anonymousId":"c9","event":"Viewed","properties":{"email":"john.doe@gmail.com"}}"""]);

        log.LastSequence.Should().Be(head + 1, "someone else's event is stored");
        (await admin.MetricsText()).Should().Contain($"cdp_events_suppressed_total {spellings.Count}");
        string.Concat(RawLog(host)).Should().NotContainAny("jane", "JANE", "253-0000", "253.0000");
    }

    /// <summary>Mary is known with her email and her London number; four events were refused, carrying them in other spellings.</summary>
    private static async Task SeedMaryAsync(CdpHost host)
    {
        await host.TrackingClient().SendBatch([
            $$"""{"type":"identify","userId":"u-mary","traits":{"email":"Mary.Major@gmail.com","phone":"+442079460958"},"timestamp":"{{Now(-9)}}"}""",
            $$"""{"type":"identify","userId":"u-bob","traits":{"email":"bob@example.com"},"timestamp":"{{Now(-9)}}"}""",
            // refused (no event name); her address with its dots in a field identity does not read
            $$"""{"type":"track","anonymousId":"kiosk-1","properties":{"contact":"mary.major@gmail.com"},"timestamp":"{{Now(-5)}}"}""",
            // refused (not an object); her number as people write it
            """["call back", "+44 20 7946 0958", "about the invoice"]""",
            // refused (no user id nor anonymous id); the googlemail spelling with a tag
            $$"""{"type":"identify","traits":{"email":"MARY.MAJOR+shop@googlemail.com"},"timestamp":"{{Now(-5)}}"}""",
            // refused, not hers: bob, and a number one digit away from hers
            $$"""{"type":"track","userId":"u-bob","timestamp":"{{Now(-5)}}"}""",
            """["call back", "+44 20 7946 0959"]""",
        ]);
        await host.Processed();
    }

    [Fact]
    public async Task Export_finds_and_erasure_removes_the_persons_dead_letters_in_every_spelling_and_leaves_others()
    {
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause);
        await SeedMaryAsync(host);
        var admin = host.AdminClient();
        DeadLetters(host).Should().HaveCount(5);
        var mary = await admin.ProfileId("user_id:u-mary");

        var export = await Json(await admin.GetAsync($"/api/privacy/profiles/{mary}/export"));

        var dead = export.GetProperty("deadLetters").EnumerateArray().Select(d => d.GetProperty("raw").GetString()!).ToList();
        dead.Should().HaveCount(3);
        dead.Should().Contain(r => r.Contains("mary.major@gmail.com")).And.Contain(r => r.Contains("+44 20 7946 0958"))
            .And.Contain(r => r.Contains("MARY.MAJOR+shop@googlemail.com"));

        var receipt = await Json(await admin.DeleteAsync($"/api/privacy/profiles/{mary}"));

        receipt.GetProperty("erased").GetProperty("deadLetters").GetInt64().Should().Be(3);
        var left = DeadLetters(host);
        left.Should().HaveCount(2);
        string.Concat(left).Should().Contain("u-bob").And.Contain("0959").And.NotContainAny("mary", "MARY", "7946 0958");
    }

    [Fact]
    public async Task Export_and_erasure_reach_events_of_other_profiles_that_carry_the_persons_identifiers()
    {
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause);
        var tracking = host.TrackingClient();
        await tracking.SendBatch([
            $$"""{"type":"identify","userId":"u-mary","traits":{"email":"mary.major@gmail.com"},"timestamp":"{{Now(-9)}}"}""",
            // a visitor never identified, who typed her address into a form
            $$"""{"type":"track","anonymousId":"kiosk-2","event":"Form Sent","properties":{"Email":"Mary.Major+kiosk@googlemail.com"},"timestamp":"{{Now(-8)}}"}""",
            $$"""{"type":"track","anonymousId":"kiosk-3","event":"Form Sent","properties":{"email":"someone.else@gmail.com"},"timestamp":"{{Now(-8)}}"}""",
        ]);
        await host.Processed();
        var admin = host.AdminClient();
        var mary = await admin.ProfileId("user_id:u-mary");

        var export = await Json(await admin.GetAsync($"/api/privacy/profiles/{mary}/export"));
        export.GetProperty("events").GetArrayLength().Should().Be(2, "her identify and the visitor's form with her address");
        var receipt = await Json(await admin.DeleteAsync($"/api/privacy/profiles/{mary}"));

        receipt.GetProperty("erased").GetProperty("events").GetInt64().Should().Be(2);
        var log = string.Concat(RawLog(host));
        log.Should().NotContainAny("Mary.Major", "mary.major").And.Contain("someone.else@gmail.com");
    }

    /// <summary>Throws for an event with properties.poison = true, quoting its properties.contact in the message (as a real bug might).</summary>
    private sealed class PoisonParticipant : IProfileBatchParticipant
    {
        public void OnBatch(ProfileBatch batch, IUnitOfWork tx)
        {
            foreach (var change in batch.Changes)
            foreach (var e in change.Events)
            {
                if (e.Payload.IsEmpty) continue;
                using var doc = JsonDocument.Parse(e.Payload);
                if (doc.RootElement.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object
                    && p.TryGetProperty("poison", out var poison) && poison.ValueKind == JsonValueKind.True)
                    throw new InvalidOperationException("cannot apply the event of " + (p.TryGetProperty("contact", out var c) ? c.GetString() : "?"));
            }
        }

        public void OnReset(IUnitOfWork tx) { }
    }

    [Fact]
    public async Task Export_lists_and_erasure_deletes_the_persons_processor_failures()
    {
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause, new Dictionary<string, string?>
        {
            ["Cdp:Profiles:Recovery:FirstRetryDelay"] = "00:00:00.050",
            ["Cdp:Profiles:Recovery:MaxRetryDelay"] = "00:00:00.200",
        }, services: s => s.AddSingleton<IProfileBatchParticipant>(new PoisonParticipant()));
        var tracking = host.TrackingClient();
        await tracking.SendBatch([$$"""{"type":"identify","userId":"u-mary","traits":{"email":"mary.major@gmail.com"},"timestamp":"{{Now(-9)}}"}"""]);
        await host.Processed();
        await tracking.SendBatch([
            $$"""{"type":"track","anonymousId":"kiosk-4","event":"Form Sent","properties":{"poison":true,"contact":"Mary.Major@gmail.com"},"timestamp":"{{Now(-8)}}"}""",
            $$"""{"type":"track","anonymousId":"kiosk-5","event":"Form Sent","properties":{"poison":true,"contact":"bob@example.com"},"timestamp":"{{Now(-8)}}"}""",
        ]);
        await host.Processed();
        var admin = host.AdminClient();
        var failures = host.Service<CdpDatabase>().Collection("processor_failures");
        failures.Count().Should().Be(2, "both poison events are set aside");
        var mary = await admin.ProfileId("user_id:u-mary");

        var export = await Json(await admin.GetAsync($"/api/privacy/profiles/{mary}/export"));

        var listed = export.GetProperty("processorFailures").EnumerateArray().ToList();
        listed.Should().ContainSingle().Which.GetProperty("message").GetString().Should().Contain("Mary.Major@gmail.com");

        var receipt = await Json(await admin.DeleteAsync($"/api/privacy/profiles/{mary}"));

        receipt.GetProperty("erased").GetProperty("processorFailures").GetInt64().Should().Be(1);
        var left = failures.FindAll().ToList();
        left.Should().ContainSingle().Which["message"].AsString.Should().Contain("bob@example.com");
        var list = await Json(await admin.GetAsync("/api/profiles/processor/failures"));
        list.GetProperty("count").GetInt32().Should().Be(1);
        list.GetRawText().Should().NotContainAny("Mary", "mary");
        string.Concat(RawLog(host)).Should().NotContainAny("Mary", "mary");
    }
}
