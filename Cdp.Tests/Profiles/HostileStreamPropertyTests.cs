using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Tests.Support;
using CsCheck;

namespace Cdp.Tests.Profiles;

/// <summary>
/// Property (issue 21): no stream of events a write-key holder can send stops Cdp. Random hostile streams go through the
/// real Tracking API into the real processor with the shipped computed traits (appsettings.json: orders_30d,
/// lifetime_revenue) plus one of each other kind, and live segments that read traits, event properties and computed
/// traits. Every field they read gets any JSON value: wrong types, extreme numbers and dates, "NaN", "1e308", huge
/// strings, deep and wide objects. After each stream the processor's checkpoint reaches the log head with no error, and
/// every profile reads back, exports and erases.
/// </summary>
public sealed class HostileStreamPropertyTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly string[] Scalars =
    [
        "1e308", "-1e308", "1.7976931348623157e308", "5e-324", "123456789012345678901234567890", "-9223372036854775809",
        "9223372036854775807", "0", "12.5", "-0", "-90000000000", "99999999999999", "-99999999999999", "1e-400",
        "\"12.50 EUR\"", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"1e308\"", "\"1e309\"", "\"-1e309\"", "\"\"",
        "\"9999-12-31T23:59:59Z\"", "\"0001-01-01T00:00:00Z\"", "\"-90000000000\"", "\"vip\"", "\"pro\"", "\"Ann\"",
        "\"jane@example.com\"", "\"+12015550123\"", "true", "false", "null", "[]", "{}", "\"yes\"",
    ];

    private static readonly Gen<string> Scalar = Gen.Int[0, Scalars.Length - 1].Select(i => Scalars[i]);

    /// <summary>Keys BSON or LiteDB may choke on: a NUL, dots, a dollar, a long one, an empty one.</summary>
    private static readonly string[] HostileKeys = ["\"a\\u0000b\"", "\"a.b\"", "\"$x\"", "\"" + new string('k', 1500) + "\"", "\"\"", "\"_id\""];

    private static readonly Gen<string> HostileKeyed = Gen.Select(Gen.Int[0, HostileKeys.Length - 1], Scalar).Select((k, v) => "{" + HostileKeys[k] + ":" + v + "}");

    /// <summary>Event names and group ids: ordinary, long (over index-key and MaxKeyLength sizes) or with a NUL.</summary>
    private static readonly string[] Names = ["Order Completed", "Order Completed", "Appointment Booked", new string('n', 1200), "a\\u0000b"];

    /// <summary>Any JSON value: a scalar, an array, a deep chain, a wide object, a long string.</summary>
    private static readonly Gen<string> Value = Gen.Frequency(
        (8, Scalar),
        (2, Scalar.Array[0, 6].Select(a => "[" + string.Join(',', a) + "]")),
        (1, Gen.Select(Gen.Int[1, 40], Scalar).Select((depth, leaf) => Deep(depth, leaf))),
        (1, Gen.Select(Gen.Int[1, 250], Scalar).Select((width, leaf) => Wide(width, leaf))),
        (1, Gen.Int[1, 9000].Select(n => "\"" + new string('x', n) + "\"")),
        (1, HostileKeyed));

    private static string Deep(int depth, string leaf) => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + leaf + new string('}', depth);

    private static string Wide(int width, string leaf) => "{" + string.Join(',', Enumerable.Range(0, width).Select(i => $"\"k{i}\":{leaf}")) + "}";

    /// <summary>A JSON value for a field a projection reads: usually hostile, sometimes the well-typed value.</summary>
    private static Gen<string> Field(params string[] good) =>
        Gen.Frequency((3, Value), (1, Gen.Int[0, good.Length - 1].Select(i => good[i])));

    private static readonly string[] Users = ["\"u0\"", "\"u1\"", "\"u2\"", "7"];
    private static readonly string[] Anonymous = ["\"a0\"", "\"a1\"", "\"a2\"", "\"a3\""];
    private static readonly string[] Timestamps =
    [
        "\"2026-03-01T10:00:00Z\"", "\"9999-12-31T23:59:59Z\"", "\"0001-01-01T00:00:00Z\"", "\"2026-02-30T00:00:00Z\"", "12", "\"NaN\"",
    ];

    private static readonly Gen<string> Traits = Gen.Select(
            Gen.Select(Field("\"jane@example.com\"", "\"JANE@example.com\""), Field("\"+12015550123\""), Field("42", "17"), Field("\"pro\"")),
            Gen.Select(Field("\"Ann\""), Field("\"2026-02-20T00:00:00Z\""), Field("[\"vip\"]"), Field("{\"city\":\"Leeds\"}")),
            Gen.Select(Field("true", "\"yes\""), Field("\"basic\""), Gen.Int[0, 255]))
        .Select((a, b, c) =>
        {
            var (email, phone, age, plan) = a;
            var (name, signup, tags, address) = b;
            var (consent, extra, mask) = c;
            var fields = new List<string>();
            void Add(int bit, string json) { if ((mask & (1 << bit)) != 0) fields.Add(json); }
            Add(0, $"\"email\":{email}");
            Add(1, $"\"phone\":{phone}");
            Add(2, $"\"age\":{age},\"plan\":{plan}");
            Add(3, $"\"name\":{name}");
            Add(4, $"\"signup\":{signup},\"birthday\":{signup}");
            Add(5, $"\"tags\":{tags},\"address\":{address}");
            Add(6, $"\"marketing_consent\":{consent}");
            Add(7, $"\"extra\":{extra}");
            return "{" + string.Join(',', fields) + "}";
        });

    /// <summary>One event of any type, with hostile values in the fields the projections read.</summary>
    private static readonly Gen<(string Type, string Json)> Event = Gen.Select(
            Gen.Select(Gen.Int[0, 4], Gen.Int[0, Users.Length], Gen.Int[0, Anonymous.Length - 1], Gen.Int[0, Timestamps.Length - 1], Gen.Int[0, Names.Length - 1]),
            Gen.Select(Traits, Field("49.5", "\"120\""), Field("\"s1\""), Field("\"2026-02-28\"")),
            Gen.Select(Field("\"/dermatology/acne\""), Gen.Frequency((3, Gen.Const("")), (1, Traits)), Gen.Frequency((3, Gen.Const("")), (1, Value)))) 
        .Select((a, b, c) =>
        {
            var (kind, user, anon, ts, nameNo) = a;
            var (traits, revenue, sku, date) = b;
            var (path, contextTraits, consent) = c;
            var type = kind switch { 0 => "identify", 1 => "track", 2 => "page", 3 => "group", _ => "track" };
            var sb = new StringBuilder("{");
            sb.Append($"\"anonymousId\":{Anonymous[anon]},\"timestamp\":{Timestamps[ts]}");
            if (user < Users.Length) sb.Append($",\"userId\":{Users[user]}");
            switch (type)
            {
                case "identify": sb.Append($",\"traits\":{traits}"); break;
                case "track":
                    sb.Append($",\"event\":\"{Names[nameNo]}\",\"properties\":{{\"revenue\":{revenue},\"sku\":{sku},\"date\":{date},\"path\":{path}}}");
                    break;
                case "page": sb.Append($",\"name\":\"Acne\",\"properties\":{{\"path\":{path},\"revenue\":{revenue}}}"); break;
                default: sb.Append($",\"groupId\":\"{(nameNo == 3 ? Names[3] : nameNo == 4 ? Names[4] : "g" + anon)}\",\"traits\":{traits}"); break;
            }
            var context = new List<string>();
            if (contextTraits.Length > 0) context.Add($"\"traits\":{contextTraits}");
            if (consent.Length > 0) context.Add($"\"consent\":{{\"categoryPreferences\":{consent}}}");
            if (context.Count > 0) sb.Append(",\"context\":{").Append(string.Join(',', context)).Append('}');
            return (type, sb.Append('}').ToString());
        });

    /// <summary>Shipped computed traits come from appsettings.json; these add the other kinds over the same hostile fields.</summary>
    internal static Dictionary<string, string?> Settings() => new()
    {
        ["Cdp:Profiles:ComputedTraits:max_revenue:Kind"] = "Max",
        ["Cdp:Profiles:ComputedTraits:max_revenue:Event"] = "Order Completed",
        ["Cdp:Profiles:ComputedTraits:max_revenue:Property"] = "revenue",
        ["Cdp:Profiles:ComputedTraits:max_revenue:Window"] = "7.00:00:00",
        ["Cdp:Profiles:ComputedTraits:avg_revenue:Kind"] = "Avg",
        ["Cdp:Profiles:ComputedTraits:avg_revenue:Type"] = "*",
        ["Cdp:Profiles:ComputedTraits:avg_revenue:Property"] = "revenue",
        ["Cdp:Profiles:ComputedTraits:skus:Kind"] = "Unique",
        ["Cdp:Profiles:ComputedTraits:skus:Property"] = "sku",
        ["Cdp:Profiles:ComputedTraits:first_plan:Kind"] = "First",
        ["Cdp:Profiles:ComputedTraits:first_plan:Type"] = "identify",
        ["Cdp:Profiles:ComputedTraits:first_plan:Property"] = "plan",
        ["Cdp:Profiles:ComputedTraits:last_address:Kind"] = "Last",
        ["Cdp:Profiles:ComputedTraits:last_address:Type"] = "identify",
        ["Cdp:Profiles:ComputedTraits:last_address:Property"] = "address.city",
        ["Cdp:Segments:has-email:Where"] = "traits.email exists",
        ["Cdp:Segments:spenders:Where"] = "computed.lifetime_revenue > 100 or computed.orders_30d >= 2 or computed.avg_revenue < 0 or computed.skus = \"s1\"",
        ["Cdp:Segments:pro-adults:Where"] = "traits.age >= 18 and traits.plan = \"pro\" and traits.name matches \"^A\"",
        ["Cdp:Segments:dated:Where"] = "traits.signup within 30d or traits.birthday before \"2000-01-01\" or traits.birthday after 3d ago or traits.signup between 1 and 9 days ago",
        ["Cdp:Segments:tagged:Where"] = "traits.tags contains \"vip\" or traits.address.city startsWith \"L\" or traits.plan in [\"pro\", 3]",
        ["Cdp:Segments:buyers:Where"] = "performed \"Order Completed\" where properties.revenue > 10 and properties.date within 7d at least 1 times within 30d",
        ["Cdp:Segments:visitors:Where"] = "performed page where properties.path startsWith \"/derm\" within 30d and not in segment \"buyers\"",
    };

    [Fact]
    public async Task Hostile_event_streams_never_stop_the_processor_and_every_profile_reads_exports_and_erases()
    {
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("CDP_HOSTILE_ITER"), out var it) ? it : 12;
        var profiles = 0;
        await Event.Array[1, 30].SampleAsync(async events =>
        {
            using var host = new CdpHost(Settings());
            profiles += await Check(host, events);
        }, iter: iterations, threads: 1, print: events => string.Join("\n", events.Select(e => $"/v1/{e.Type} {Shorten(e.Json)}")));
        output.WriteLine($"{iterations} streams, {profiles} profiles read, exported and erased");
        profiles.Should().BeGreaterThan(iterations, "most events are valid for collection and reach a profile");
    }

    private static string Shorten(string json) => json.Length <= 600 ? json : json[..300] + $"...({json.Length} chars)..." + json[^200..];

    /// <returns>The profiles checked.</returns>
    internal static async Task<int> Check(CdpHost host, IEnumerable<(string Type, string Json)> events)
    {
        using var tracking = host.TrackingClient();
        using var admin = host.AdminClient();
        var groups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (type, json) in events)
        {
            var response = await tracking.PostAsync("/v1/" + type, new StringContent(json, Encoding.UTF8, "application/json"));
            ((int)response.StatusCode).Should().BeLessThan(500, $"/v1/{type} answered {await response.Content.ReadAsStringAsync()}");
            if (type == "group" && response.IsSuccessStatusCode) groups.Add(JsonDocument.Parse(json).RootElement.GetProperty("groupId").GetString()!);
        }
        await ProcessedWithoutError(host, admin);

        var ids = await AllProfiles(admin);
        foreach (var id in ids)
        {
            await Ok(admin, $"/api/profiles/{id}");
            await Ok(admin, $"/api/profiles/{id}/traits");
            await Ok(admin, $"/api/segments/profiles/{id}");
            await Ok(admin, $"/api/privacy/profiles/{id}/export");
        }
        foreach (var g in groups)
        {
            var account = await admin.GetAsync("/api/profiles/accounts/" + Uri.EscapeDataString(g));
            // 404: not kept (an id over MaxKeyLength or with a NUL); 400: a NUL in a URL path
            ((int)account.StatusCode).Should().BeOneOf([200, 400, 404], $"an account reads back: {Shorten(await account.Content.ReadAsStringAsync())}");
        }
        await Ok(admin, "/api/profiles/search?trait=email&value=jane@example.com");
        await Ok(admin, "/api/profiles?limit=500");

        // a segment defined now reads every stored profile in its build
        var created = await admin.PostAsJsonAsync("/api/segments", new { key = "late", where = "traits.age > 3 or traits.email endsWith \".com\" or computed.lifetime_revenue >= 0" });
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        await Built(admin, "late");
        var segments = await admin.GetFromJsonAsync<JsonElement>("/api/segments");
        foreach (var s in segments.GetProperty("segments").EnumerateArray())
            s.GetProperty("health").GetString().Should().Be("ok", $"segment {s.GetProperty("key")} is evaluated");

        foreach (var id in ids)
        {
            var deleted = await admin.DeleteAsync($"/api/privacy/profiles/{id}");
            deleted.StatusCode.Should().Be(HttpStatusCode.OK, $"erasing {id}: {await deleted.Content.ReadAsStringAsync()}");
        }
        (await AllProfiles(admin)).Should().BeEmpty("every profile was erased");
        await ProcessedWithoutError(host, admin);
        return ids.Count;
    }

    private static async Task Ok(HttpClient admin, string path)
    {
        var response = await admin.GetAsync(path);
        response.StatusCode.Should().Be(HttpStatusCode.OK, $"GET {path}: {Shorten(await response.Content.ReadAsStringAsync())}");
    }

    private static async Task<List<string>> AllProfiles(HttpClient admin)
    {
        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var response = await admin.GetAsync("/api/profiles?limit=100" + (cursor is null ? "" : "&cursor=" + cursor));
            response.StatusCode.Should().Be(HttpStatusCode.OK, $"the profile list: {Shorten(await response.Content.ReadAsStringAsync())}");
            var page = await response.Content.ReadFromJsonAsync<JsonElement>();
            ids.AddRange(page.GetProperty("profiles").EnumerateArray().Select(p => p.GetProperty("id").GetString()!));
            cursor = page.GetProperty("nextCursor").ValueKind == JsonValueKind.String ? page.GetProperty("nextCursor").GetString() : null;
        } while (cursor is not null);
        return ids;
    }

    /// <summary>The checkpoint reaches the log head; an error the processor reports fails at once (it would retry the same batch for ever).</summary>
    internal static async Task ProcessedWithoutError(CdpHost host, HttpClient admin)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var status = await admin.GetFromJsonAsync<JsonElement>("/api/profiles/processor");
            var error = status.GetProperty("lastError");
            error.ValueKind.Should().Be(JsonValueKind.Null, $"the processor reports: {error}");
            if (status.GetProperty("checkpoint").GetInt64() >= status.GetProperty("logHead").GetInt64()) return;
            DateTime.UtcNow.Should().BeBefore(deadline, $"the checkpoint should reach the log head: {status}");
            await Task.Delay(20);
        }
    }

    private static async Task Built(HttpClient admin, string key)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var s = await admin.GetFromJsonAsync<JsonElement>("/api/segments/" + key);
            var health = s.GetProperty("health").GetString();
            if (health == "ok") return;
            health.Should().NotStartWith("error", $"segment {key} builds");
            DateTime.UtcNow.Should().BeBefore(deadline, $"segment {key} should be built: {s}");
            await Task.Delay(50);
        }
    }
}
