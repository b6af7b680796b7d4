using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Engine;
using Cdp.Modules.Profiles;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using LiteDB;

namespace Cdp.Tests.Profiles;

/// <summary>
/// Issue 21's reproductions: a value of the wrong type costs that value (counted on the profile and in /metrics), never the
/// profile or the processor; no profile document outgrows its limits, so none can reach LiteDB's 16 MB.
/// </summary>
public sealed class HostileValueTests
{
    [Fact]
    public async Task A_revenue_of_12_50_EUR_is_skipped_by_lifetime_revenue_and_the_profile_still_reads_exports_and_erases()
    {
        using var host = new CdpHost(new Dictionary<string, string?> { ["Cdp:Segments:has-email:Where"] = "traits.email exists" });
        var web = host.TrackingClient();
        var admin = host.AdminClient();
        await web.Send("identify", """{"userId":"x","traits":{"email":"x@example.com"}}""");
        await web.Send("track", """{"userId":"x","event":"Order Completed","properties":{"revenue":"12.50 EUR"}}""");
        await web.Send("track", """{"userId":"x","event":"Order Completed","properties":{"revenue":"20.5"}}""");
        await web.Send("track", """{"userId":"x","event":"Order Completed","properties":{"revenue":"NaN"}}""");
        await web.Send("identify", """{"userId":"y","traits":{"email":"y@example.com"}}""");
        await HostileStreamPropertyTests.ProcessedWithoutError(host, admin);

        var profile = (await admin.Profile("user_id:x"))!.Value;
        profile.GetProperty("computedTraits").GetProperty("lifetime_revenue").GetDouble().Should().Be(20.5, "the numbers are summed, the rest skipped");
        profile.GetProperty("computedTraits").GetProperty("orders_30d").GetInt64().Should().Be(3, "a count reads no property: every order counts");
        var skipped = profile.GetProperty("skipped");
        skipped.GetProperty("counts").GetProperty("computed.lifetime_revenue").GetInt64().Should().Be(2);
        var reasons = skipped.GetProperty("recent").EnumerateArray().Select(r => r.GetProperty("reason").GetString()).ToList();
        reasons.Should().HaveCount(2).And.Contain(r => r!.Contains("12.50 EUR") && r.Contains("not a finite number"));
        (await admin.MetricsText()).Should().Contain("cdp_profile_values_skipped_total{field=\"computed.lifetime_revenue\"} 2");

        var members = await admin.GetFromJsonAsync<JsonElement>("/api/segments/has-email/members");
        members.GetRawText().Should().Contain(profile.GetProperty("id").GetString()!, "the live segment reading traits evaluated the profile");
        (await admin.GetAsync("/api/profiles?limit=10")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await admin.GetAsync("/api/profiles/search?trait=email&value=x@example.com")).StatusCode.Should().Be(HttpStatusCode.OK);
        var id = profile.GetProperty("id").GetString();
        var export = await admin.GetFromJsonAsync<JsonElement>($"/api/privacy/profiles/{id}/export");
        export.GetRawText().Should().Contain("computed.lifetime_revenue");
        (await admin.DeleteAsync($"/api/privacy/profiles/{id}")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await admin.Profile("user_id:x")).Should().BeNull("erased");
    }

    [Fact]
    public async Task A_profile_stops_taking_trait_keys_at_its_limit_and_a_merge_of_two_full_profiles_stays_within_it()
    {
        using var host = new CdpHost(new Dictionary<string, string?>
        {
            ["Cdp:Profiles:Limits:MaxTraitKeys"] = "60",
            ["Cdp:Profiles:Limits:MaxTraitBytes"] = "6000",
            ["Cdp:Profiles:Limits:MaxTraitDepth"] = "3",
        });
        var web = host.TrackingClient();
        var admin = host.AdminClient();
        // two people, each sent far more nested trait keys than the limit, then one event joins them
        foreach (var who in new[] { "a", "b" })
            for (var batch = 0; batch < 4; batch++)
                await web.SendBatch(Enumerable.Range(0, 5).Select(i =>
                    "{\"type\":\"identify\",\"anonymousId\":\"anon-" + who + "\",\"traits\":{\"" + who + batch + "_" + i + "\":" + Nested(20, $"{who}{batch}{i}")
                    + ",\"deep\":{\"l2\":{\"l3\":{\"l4\":1}}}}}"));
        await web.Send("identify", """{"userId":"a","anonymousId":"anon-a"}""");
        await web.Send("identify", """{"userId":"a","anonymousId":"anon-b"}""");
        await HostileStreamPropertyTests.ProcessedWithoutError(host, admin);

        var a = (await admin.Profile("user_id:a"))!.Value;
        a.GetProperty("mergedProfiles").GetArrayLength().Should().Be(1, "anon-b's profile was merged into anon-a's");
        var keys = CountKeys(a.GetProperty("traits"));
        keys.Should().BeLessThanOrEqualTo(60).And.BeGreaterThan(40, "it takes keys up to the limit");
        var counts = a.GetProperty("skipped").GetProperty("counts");
        counts.GetProperty("traits").GetInt64().Should().BeGreaterThan(30, "both people's objects that did not fit, one value each");
        a.GetProperty("skipped").GetProperty("recent").EnumerateArray().Select(r => r.GetProperty("reason").GetString())
            .Should().Contain(r => r!.Contains("MaxTraitKeys") || r.Contains("MaxTraitBytes"));
        a.GetProperty("traits").GetProperty("deep").GetProperty("l2").TryGetProperty("l3", out _).Should().BeFalse("l3 is a 3rd level object: over MaxTraitDepth");

        var stored = host.Service<CdpDatabase>().Collection("profiles").FindAll().Where(d => !d.ContainsKey("into")).ToList();
        foreach (var d in stored)
        {
            var traitBytes = BsonSerializer.Serialize(d["tr"].AsDocument).Length + BsonSerializer.Serialize(d["tt"].AsDocument).Length;
            traitBytes.Should().BeLessThanOrEqualTo(6000 + 200, "the running byte count follows BSON's");
            d["tb"].AsInt64.Should().BeGreaterThan(traitBytes - 100).And.BeLessThan(traitBytes + 100, "the running count is close to the real size");
        }
    }

    [Fact]
    public async Task Twelve_batches_of_thousands_of_nested_trait_keys_for_one_user_leave_a_bounded_profile_at_the_default_limits()
    {
        using var host = new CdpHost();
        var web = host.TrackingClient();
        var admin = host.AdminClient();
        for (var batch = 0; batch < 12; batch++)
        {
            var events = Enumerable.Range(0, 16).Select(i =>
                $$$"""{"type":"identify","userId":"blob","traits":{"t{{{batch}}}_{{{i}}}":{{{Wide(14, 14, $"v{batch}{i}")}}}}}""").ToList();
            var body = "{\"batch\":[" + string.Join(",", events) + "]}";
            Encoding.UTF8.GetByteCount(body).Should().BeLessThan(500_000);
            var response = await web.PostAsync("/v1/batch", new StringContent(body, Encoding.UTF8, "application/json"));
            response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }
        await web.Send("identify", """{"userId":"someone-else","traits":{"plan":"pro"}}""");
        await HostileStreamPropertyTests.ProcessedWithoutError(host, admin);

        (await admin.Profile("user_id:someone-else"))!.Value.GetProperty("traits").GetProperty("plan").GetString().Should().Be("pro");
        var blob = (await admin.Profile("user_id:blob"))!.Value;
        CountKeys(blob.GetProperty("traits")).Should().Be(1_000, "MaxTraitKeys' default");
        blob.GetProperty("skipped").GetProperty("counts").GetProperty("traits").GetInt64().Should().BeGreaterThan(150, "each object that no longer fits is one value skipped");
        // the stored record, on either provider (LiteDB's document, PostgreSQL's BSON bytes)
        var stored = host.Service<Cdp.Modules.Profiles.Projection.IProfileStore>().Profile(long.Parse(blob.GetProperty("id").GetString()!["p_".Length..]))!;
        stored.ToBytes().Length.Should().BeLessThan(1_100_000, "a profile document holds at most MaxTraitBytes of traits plus its counters");
    }

    [Fact]
    public void Limits_that_would_allow_a_profile_document_near_LiteDBs_limit_are_refused_naming_the_setting()
    {
        var options = new ProfilesOptions { MaxEventNames = 10_000 };
        options.Limits.MaxTraitBytes = 4_000_000;
        options.Limits.MaxKeyLength = 300;
        var result = new ProfilesOptionsValidator().Validate(options);
        result.IsValid.Should().BeFalse();
        result.Errors.Should().Contain(e => e.PropertyName == "Limits" && e.ErrorMessage.Contains("LiteDB"));
        new ProfilesOptionsValidator().Validate(new ProfilesOptions()).IsValid.Should().BeTrue("the defaults fit");
    }

    [Theory]
    [InlineData("traits.birthday before \"2000-01-01\"", 1)] // -9e10 epoch seconds is before year 1: no date; "1999-05-01" is one
    [InlineData("traits.birthday within 30d or traits.birthday after 3d ago", 1)] // 99999999999999 ms is in the year 5138
    [InlineData("traits.age > 3", 1)] // "1e309" and "NaN" are no numbers; 12 is
    [InlineData("traits.age < 100000", 1)]
    public async Task Segment_conditions_treat_dates_and_numbers_out_of_range_as_no_value(string where, int members)
    {
        using var host = new CdpHost();
        var web = host.TrackingClient();
        var admin = host.AdminClient();
        await web.Send("identify", """{"userId":"a","traits":{"birthday":-90000000000,"age":"1e309"}}""");
        await web.Send("identify", """{"userId":"b","traits":{"birthday":99999999999999,"age":"NaN"}}""");
        await web.Send("identify", """{"userId":"c","traits":{"birthday":"1999-05-01","age":12}}""");
        await HostileStreamPropertyTests.ProcessedWithoutError(host, admin);
        var preview = await admin.PostAsJsonAsync("/api/segments/preview", new { where });
        preview.StatusCode.Should().Be(HttpStatusCode.OK, await preview.Content.ReadAsStringAsync());
        (await preview.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("count").GetInt64().Should().Be(members);
    }

    [Fact]
    public void A_mapped_trait_holding_an_object_is_sent_to_an_email_platform_as_null_and_the_member_keeps_its_other_fields()
    {
        var sync = new SyncSettings { ConsentPurpose = "", FieldMappings = new() { ["FNAME"] = "traits.first_name", ["CITY"] = "traits.city", ["SKUS"] = "computed.skus" } };
        var traits = JsonDocument.Parse("""{"email":"a@example.com","first_name":{"given":"Ann"},"city":"Leeds"}""").RootElement;
        var computed = JsonDocument.Parse("""{"skus":["s1","s2"]}""").RootElement;
        var view = new ProfileView("p_1", traits, computed, DateTime.UtcNow, DateTime.UtcNow, 1, new Dictionary<string, long>(), new Dictionary<string, long>(),
            new Dictionary<string, SourcePresence>(), []);
        var vendor = new MemberProjection(sync, scalarFields: true);
        vendor.Check(view, out var key).Should().Be(Eligibility.Eligible);
        var member = vendor.Project(view, key);
        member.Fields.Should().ContainSingle(f => f.Key == "FNAME").Which.Value.ValueKind.Should().Be(JsonValueKind.Null);
        member.Fields.Should().ContainSingle(f => f.Key == "SKUS").Which.Value.ValueKind.Should().Be(JsonValueKind.Null);
        member.Fields.Should().ContainSingle(f => f.Key == "CITY").Which.Value.GetString().Should().Be("Leeds");
        new MemberProjection(sync).Project(view, key).Fields.Single(f => f.Key == "SKUS").Value.GetArrayLength().Should().Be(2, "a webhook takes any JSON");
    }

    private static string Nested(int keys, string prefix) =>
        "{" + string.Join(',', Enumerable.Range(0, keys).Select(k => $"\"{prefix}k{k}\":\"value {k}\"")) + "}";

    private static string Wide(int width, int inner, string prefix) =>
        "{" + string.Join(',', Enumerable.Range(0, width).Select(k => $"\"{prefix}o{k}\":{Nested(inner, prefix + k)}")) + "}";

    private static int CountKeys(JsonElement o)
    {
        var n = 0;
        foreach (var p in o.EnumerateObject()) n += 1 + (p.Value.ValueKind == JsonValueKind.Object ? CountKeys(p.Value) : 0);
        return n;
    }
}
