using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Governance.Audit;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Segments;
using Cdp.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Governance;

/// <summary>Requests without a key cannot fill the disk through the audit log; they are counted and limited (issue 24, items 1 and 2).</summary>
public sealed class AuditFloodTests
{
    private static async Task<Dictionary<string, double>> Metrics(CdpHost host)
    {
        var text = await host.AdminClient().MetricsText();
        return text.Split('\n').Where(l => l.StartsWith("cdp_", StringComparison.Ordinal))
            .Select(l => (Name: l[..l.LastIndexOf(' ')], Value: double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))
            .ToDictionary(p => p.Name, p => p.Value);
    }

    private static async Task<List<JsonElement>> Audit(CdpHost host) =>
        (await host.AdminClient().GetFromJsonAsync<JsonElement>("/api/audit?limit=1000")).GetProperty("items").EnumerateArray().ToList();

    [Fact]
    public async Task A_flood_without_a_key_grows_the_audit_log_by_at_most_the_bound_a_minute_and_the_metrics_count_every_request()
    {
        const int bound = 20;
        const int requests = 3000;
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 3, 12, 0, 10, TimeSpan.Zero));
        using var host = new CdpHost(new Dictionary<string, string?>
        {
            ["Cdp:Governance:UnauthenticatedRecordsPerMinute"] = bound.ToString(CultureInfo.InvariantCulture),
            ["Cdp:Admin:Unauthenticated:PermitsPerMinute"] = "100000", // this test is about the audit log, not the 429s
        }, services: s => s.AddSingleton<TimeProvider>(clock));
        var storedBefore = host.Service<AuditTrail>().StoredRecords;
        var longPath = "/api/" + new string('Z', 400) + "?x=" + new string('A', 400);

        var sent = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 8), async (_, ct) =>
        {
            using var client = host.CreateClient();
            int n;
            while ((n = Interlocked.Increment(ref sent)) <= requests)
            {
                using var response = n % 2 == 0
                    ? await client.PostAsync(longPath, null, ct) // an unknown route
                    : await client.PostAsync("/api/profiles/reprocess?value=" + new string('B', 300), null, ct); // a real one, no key
                ((int)response.StatusCode).Should().BeOneOf(401, 404, 405);
            }
        });

        var trail = host.Service<AuditTrail>();
        (trail.StoredRecords - storedBefore).Should().BeInRange(1, bound, "one minute's worth of records without a key, however many were sent");
        var records = await Audit(host);
        records.Should().OnlyContain(r => r.GetProperty("actor").GetString() == "(none)");
        records.Should().OnlyContain(r => r.GetProperty("path").GetString()!.Length <= AuditMiddleware.MaxUnauthenticatedPathLength + 1
            && r.GetProperty("query").ValueKind == JsonValueKind.Null && r.GetProperty("remote").GetString() == "127.0.0.1");
        JsonSerializer.Serialize(records).Should().NotContain("ZZZZ").And.NotContain("AAAA").And.NotContain("BBBB");

        var metrics = await Metrics(host);
        metrics.Where(m => m.Key.StartsWith("cdp_unauthenticated_requests_total{", StringComparison.Ordinal)).Sum(m => m.Value).Should().Be(requests);
        metrics["cdp_unauthenticated_requests_total{address=\"127.0.0.1\",route=\"(unmatched)\"}"].Should().Be(requests / 2);
        metrics["cdp_unauthenticated_requests_total{address=\"127.0.0.1\",route=\"/api/profiles/reprocess\"}"].Should().Be(requests / 2);
        metrics["cdp_audit_unrecorded_total"].Should().Be(requests - records.Count, "every request not recorded is counted");
        metrics["cdp_audit_stored_records"].Should().Be(trail.StoredRecords);

        // the minute is over: one summary record stands for all the others, with the busiest addresses
        clock.Advance(TimeSpan.FromMinutes(1));
        (await host.CreateClient().PostAsync("/api/profiles/reprocess", null)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var summary = (await Audit(host)).Should().ContainSingle(r => r.GetProperty("method").GetString() == "*").Subject;
        summary.GetProperty("count").GetInt64().Should().Be(requests - records.Count);
        summary.GetProperty("remote").GetString().Should().Be($"127.0.0.1 ×{requests - records.Count}");
        summary.GetProperty("path").GetString().Should().Be(AuditTrail.SummaryPath);
    }

    [Fact]
    public async Task Past_the_per_address_limit_requests_without_a_valid_key_get_429_with_Retry_After_and_valid_keys_go_on()
    {
        using var host = new CdpHost(new Dictionary<string, string?> { ["Cdp:Admin:Unauthenticated:PermitsPerMinute"] = "5" });
        var anonymous = host.CreateClient();
        for (var i = 0; i < 3; i++) (await anonymous.PostAsync("/api/profiles/reprocess", null)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await host.AdminClient("a-wrong-key-of-enough-length").GetAsync("/api/segments")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await anonymous.GetAsync("/jobs/sign-in")).StatusCode.Should().Be(HttpStatusCode.OK);

        var limited = await anonymous.PostAsync("/api/profiles/reprocess", null);
        limited.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        limited.Headers.RetryAfter!.Delta!.Value.TotalSeconds.Should().BeInRange(1, 60);
        (await limited.Content.ReadAsStringAsync()).Should().Contain("Cdp:Admin:Unauthenticated:PermitsPerMinute");
        (await host.AdminClient("a-wrong-key-of-enough-length").GetAsync("/api/segments")).StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "a wrong key counts as no key");
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(host.ServerAddress) };
        (await browser.PostAsync("/jobs/sign-in", new FormUrlEncodedContent([new("key", "guess-number-seven-of-many")]))).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);

        (await host.AdminClient().GetAsync("/api/segments")).StatusCode.Should().Be(HttpStatusCode.OK, "a valid key is not limited from the same address");
        (await browser.PostAsync("/jobs/sign-in", new FormUrlEncodedContent([new("key", CdpHost.AdminKey)]))).StatusCode
            .Should().Be(HttpStatusCode.TooManyRequests, "a limited address gets no answer to a sign-in guess, right or wrong, or the limit would be an oracle");
        (await Metrics(host))["cdp_unauthenticated_rate_limited_total"].Should().BeGreaterThanOrEqualTo(3);
    }

    [Fact]
    public void Past_the_size_bound_the_oldest_records_go_and_the_size_stays_within_it()
    {
        using var folder = new TempFolder();
        using var db = new CdpDatabase(Options.Create(new StorageOptions { Path = folder.File("cdp.db") }), NullLogger<CdpDatabase>.Instance);
        var trail = new AuditTrail(new Cdp.Modules.Governance.Audit.LiteDb.LiteAuditStore(db), TimeProvider.System, Options.Create(new AuditOptions { AuditMaxRecords = 1000 }));
        var none = new Dictionary<string, string>();
        for (var i = 0; i < 1500; i++) trail.Append("ops", "Admin", "POST", $"/api/x/{i}", none, null, 200, 1, null);

        trail.StoredRecords.Should().BeInRange(990, 1000);
        db.Collection(Cdp.Modules.Governance.Audit.LiteDb.LiteAuditStore.CollectionName).Count().Should().Be((int)trail.StoredRecords);
        var kept = trail.Page(0, 1000, null, null, null);
        kept[^1].Path.Should().Be("/api/x/1499", "the newest stay");
        kept[0].Path.Should().Be($"/api/x/{1500 - kept.Count}", "the oldest went first");
    }

    [Theory]
    [InlineData("Cdp:Governance:AuditMaxRecords", "10")]
    [InlineData("Cdp:Governance:UnauthenticatedRecordsPerMinute", "-1")]
    [InlineData("Cdp:Admin:Unauthenticated:PermitsPerMinute", "0")]
    public async Task An_invalid_bound_stops_the_start_naming_the_setting(string setting, string value)
    {
        using var folder = new TempFolder();
        var app = Cdp.Host.CdpApp.CreateBuilder([$"--Cdp:Storage:Path={folder.File("cdp.db")}", $"--{setting}={value}"]).Build();
        await using (app)
        {
            var validate = () => Cdp.Host.CdpApp.ValidateSettings(app.Services);
            validate.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain(setting);
        }
    }
}
