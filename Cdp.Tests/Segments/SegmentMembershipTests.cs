using Cdp.Modules.Shared.Storage;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Segments.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Segments;

/// <summary>Segments through the real host: events via /v1, membership via /api/segments, time from a ManualClock.</summary>
public sealed class SegmentMembershipTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 31, 12, 0, 0, TimeSpan.Zero);

    // the seed segment from appsettings.json: dermatology pages twice in 30 days, no appointment booked in 30 days
    private const string Seed = "dermatology-no-booking";

    private static string Page(string anon, string path, DateTimeOffset at) =>
        $$"""{"type":"page","anonymousId":"{{anon}}","name":"Dermatology","properties":{"path":"{{path}}"},"timestamp":"{{at.UtcDateTime:O}}"}""";

    private static string Track(string anon, string name, DateTimeOffset at, string properties = "{}") =>
        $$"""{"type":"track","anonymousId":"{{anon}}","event":"{{name}}","properties":{{properties}},"timestamp":"{{at.UtcDateTime:O}}"}""";

    private static string Identify(string anon, string traits, DateTimeOffset at) =>
        $$"""{"type":"identify","anonymousId":"{{anon}}","traits":{{traits}},"timestamp":"{{at.UtcDateTime:O}}"}""";

    private static CdpHost Host(ManualClock clock, IDictionary<string, string?>? settings = null) =>
        HostOn(StorageProviders.LiteDb, clock, settings).GetAwaiter().GetResult();

    private static Task<CdpHost> HostOn(string provider, ManualClock clock, IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?> { ["Cdp:SegmentEvaluation:SweepSchedule"] = "" };
        if (settings is not null) foreach (var (k, v) in settings) all[k] = v;
        return CdpHost.OnAsync(provider, all, services: s => s.AddSingleton<TimeProvider>(clock));
    }

    public static TheoryData<string> Providers => CdpHost.Providers;

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task The_seed_example_admits_dermatology_visitors_who_have_not_booked_and_explains_why(string provider)
    {
        var clock = new ManualClock(Now);
        using var host = await HostOn(provider, clock);
        await Send(host,
            Page("anna", "/dermatology/acne", Now.AddDays(-3)), Page("anna", "/dermatology/eczema", Now.AddDays(-1)),
            Page("bob", "/dermatology/acne", Now.AddDays(-3)), Page("bob", "/dermatology/acne", Now.AddDays(-2)),
            Track("bob", "Appointment Booked", Now.AddDays(-1)),
            Page("cara", "/dermatology/acne", Now.AddDays(-2)), Page("cara", "/cardiology", Now.AddDays(-1)),
            Page("dan", "/dermatology/acne", Now.AddDays(-45)), Page("dan", "/dermatology/acne", Now.AddDays(-1)));
        var admin = host.AdminClient();
        var anna = await admin.ProfileId("anonymous_id:anna");

        (await Members(admin, Seed)).Should().Equal(anna);
        host.Service<ISegmentMembership>().Members(Seed).Should().Equal(anna);
        host.Service<ISegmentMembership>().Count(Seed).Should().Be(1);

        var list = await admin.GetFromJsonAsync<JsonElement>("/api/segments");
        var seed = list.GetProperty("segments").EnumerateArray().Single(s => s.GetProperty("key").GetString() == Seed);
        seed.GetProperty("members").GetInt64().Should().Be(1);
        seed.GetProperty("health").GetString().Should().Be("ok");
        seed.GetProperty("readOnly").GetBoolean().Should().BeTrue();
        seed.GetProperty("lastEvaluated").ValueKind.Should().Be(JsonValueKind.String);

        var why = await admin.GetFromJsonAsync<JsonElement>($"/api/segments/profiles/{anna}");
        var verdict = why.GetProperty("segments").EnumerateArray().Single(s => s.GetProperty("segment").GetString() == Seed);
        verdict.GetProperty("member").GetBoolean().Should().BeTrue();
        verdict.GetProperty("explanation").GetString().Should().Be(
            "in because: page calls (properties.path startsWith \"/dermatology\") x2 in 30 d; no Appointment Booked in 30 d");

        var bob = await admin.ProfileId("anonymous_id:bob");
        var bobWhy = await admin.GetFromJsonAsync<JsonElement>($"/api/segments/profiles/{bob}");
        bobWhy.GetProperty("segments").EnumerateArray().Single(s => s.GetProperty("segment").GetString() == Seed)
            .GetProperty("explanation").GetString().Should().Be("out because: Appointment Booked x1 in 30 d");

        var history = await admin.GetFromJsonAsync<JsonElement>($"/api/segments/{Seed}/history");
        // events go one request each, so the processor may see bob's page views before his booking: he may enter and
        // leave in between (real time does that); anna enters exactly once
        var entry = history.GetProperty("entries").EnumerateArray().Single(e => e.GetProperty("profile").GetString() == anna);
        (entry.GetProperty("profile").GetString(), entry.GetProperty("change").GetString()).Should().Be((anna, "entered"));
        entry.GetProperty("cause").GetString().Should().StartWith("event ");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task The_sweep_exits_a_member_whose_events_aged_out_at_midnight_UTC_of_the_30th_day(string provider)
    {
        var clock = new ManualClock(Now);
        using var host = await HostOn(provider, clock);
        // 29 days ago, at the first instant of that UTC day, and today
        var first = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
        await Send(host, Page("erin", "/dermatology/a", first), Page("erin", "/dermatology/b", Now));
        var admin = host.AdminClient();
        var erin = await admin.ProfileId("anonymous_id:erin");
        (await Members(admin, Seed)).Should().Equal(erin);

        clock.Set(new DateTimeOffset(2026, 3, 31, 23, 59, 59, TimeSpan.Zero));
        (await admin.PostAsync("/api/segments/sweep", null)).EnsureSuccessStatusCode();
        (await Members(admin, Seed)).Should().Equal([erin], "March 2nd is still inside the 30 days until midnight");

        clock.Set(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero));
        var sweep = await (await admin.PostAsync("/api/segments/sweep", null)).Content.ReadFromJsonAsync<JsonElement>();
        sweep.GetProperty("changes").GetInt32().Should().Be(1);
        (await Members(admin, Seed)).Should().BeEmpty();
        var history = await admin.GetFromJsonAsync<JsonElement>($"/api/segments/profiles/{erin}/history");
        var last = history.GetProperty("entries").EnumerateArray().First();
        (last.GetProperty("change").GetString(), last.GetProperty("cause").GetString()).Should().Be(("exited", "time passed (sweep)"));
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Membership_follows_a_merge_and_an_unmerge(string provider)
    {
        var clock = new ManualClock(Now);
        using var host = await HostOn(provider, clock);
        // one derm page on each device: neither profile qualifies on its own
        await Send(host, Page("anna-laptop", "/dermatology/a", Now.AddDays(-2)), Page("anna-phone", "/dermatology/b", Now.AddDays(-1)),
            Identify("anna-phone", """{"email":"anna@example.com"}""", Now.AddHours(-3)));
        var admin = host.AdminClient();
        (await Members(admin, Seed)).Should().BeEmpty();

        await Send(host, Identify("anna-laptop", """{"email":"anna@example.com"}""", Now.AddHours(-2))); // the merge
        var merged = await admin.ProfileId("anonymous_id:anna-laptop");
        (await admin.ProfileId("anonymous_id:anna-phone")).Should().Be(merged);
        (await Members(admin, Seed)).Should().Equal([merged], "the merged counters hold both pages");

        var merge = (await admin.Profile(merged, "merges"))!.Value.GetProperty("merges").EnumerateArray().Single();
        (await admin.PostAsync($"/api/identity/merges/{merge.GetProperty("id").GetString()}/unmerge", null)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await Members(admin, Seed)).Should().BeEmpty("each restored profile has one page again");
        var history = await admin.GetFromJsonAsync<JsonElement>($"/api/segments/{Seed}/history");
        history.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("change").GetString()).Should().Equal("exited", "entered");
    }

    [Fact]
    public async Task Segments_of_segments_nested_filters_and_api_definitions_work_together()
    {
        var clock = new ManualClock(Now);
        using var host = Host(clock, new Dictionary<string, string?>
        {
            ["Cdp:Segments:buyers:Where"] = "performed \"Order Completed\" where properties.items.first.category = \"skin\" and properties.total >= 50 within 90d",
            ["Cdp:Segments:gold-buyers:Where"] = "in segment \"buyers\" and traits.plan in [\"gold\", \"platinum\"]",
        });
        await Send(host,
            Identify("gus", """{"plan":"gold"}""", Now.AddDays(-5)),
            Track("gus", "Order Completed", Now.AddDays(-4), """{"total":"55","items":{"first":{"category":"skin"}}}"""),
            Identify("hal", """{"plan":"gold"}""", Now.AddDays(-5)),
            Track("hal", "Order Completed", Now.AddDays(-4), """{"total":9,"items":{"first":{"category":"skin"}}}"""),
            Identify("ida", """{"plan":"basic"}""", Now.AddDays(-5)),
            Track("ida", "Order Completed", Now.AddDays(-4), """{"total":80,"items":{"first":{"category":"skin"}}}"""));
        var admin = host.AdminClient();
        var gus = await admin.ProfileId("anonymous_id:gus");
        var ida = await admin.ProfileId("anonymous_id:ida");
        (await Members(admin, "buyers")).Should().BeEquivalentTo([gus, ida]);
        (await Members(admin, "gold-buyers")).Should().Equal(gus);

        // an API segment built over existing profiles (its counter did not exist: counted from their events)
        var created = await admin.PostAsJsonAsync("/api/segments", new { key = "big-spenders", name = "Big spenders", where = "performed \"Order Completed\" where properties.total > 60" });
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        await Ready(host);
        (await Members(admin, "big-spenders")).Should().Equal(ida);

        // preview a draft against the live definition, without saving
        var preview = await (await admin.PostAsJsonAsync("/api/segments/preview", new { key = "big-spenders", where = "performed \"Order Completed\" where properties.total > 50" }))
            .Content.ReadFromJsonAsync<JsonElement>();
        preview.GetProperty("count").GetInt64().Should().Be(2);
        preview.GetProperty("addedSample").EnumerateArray().Select(e => e.GetString()).Should().Equal(gus);
        preview.GetProperty("removed").GetInt64().Should().Be(0);
        (await Members(admin, "big-spenders")).Should().Equal(ida);

        // config segments are read-only; a segment in use cannot be deleted; API segments can
        (await admin.PutAsJsonAsync("/api/segments/buyers", new { where = "traits.x exists" })).StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await admin.DeleteAsync("/api/segments/big-spenders")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await admin.GetAsync("/api/segments/big-spenders")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await host.AdminClient(CdpHost.AnalystKey).PostAsJsonAsync("/api/segments", new { key = "x", where = "traits.x exists" }))
            .StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_preview_names_the_people_it_lists_from_their_traits_and_leaves_out_those_without_a_name()
    {
        using var host = Host(new ManualClock(Now));
        await Send(host,
            Identify("ann", """{"name":"Ann Lee","email":"ann@example.com"}""", Now.AddDays(-2)),
            Identify("ben", """{"first_name":"Ben","lastName":"Ng"}""", Now.AddDays(-2)),
            Identify("cai", """{"email":"cai@example.com"}""", Now.AddDays(-2)),
            Identify("dan", """{"name":42,"plan":"gold"}""", Now.AddDays(-2)));
        var admin = host.AdminClient();
        var ids = new Dictionary<string, string>();
        foreach (var anon in new[] { "ann", "ben", "cai", "dan" }) ids[anon] = await admin.ProfileId("anonymous_id:" + anon);

        var preview = await (await admin.PostAsJsonAsync("/api/segments/preview", new { where = "performed any event at least 1 time" }))
            .Content.ReadFromJsonAsync<JsonElement>();

        preview.GetProperty("sample").EnumerateArray().Select(e => e.GetString()).Should().BeEquivalentTo(ids.Values);
        var names = preview.GetProperty("names").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        names.Should().BeEquivalentTo(new Dictionary<string, string?>
        {
            [ids["ann"]] = "Ann Lee",
            [ids["ben"]] = "Ben Ng",
            [ids["cai"]] = "cai@example.com",
        }, "a number where the name should be is no name: that profile is shown by its id");
    }

    [Fact]
    public async Task An_invalid_expression_over_the_API_is_a_400_naming_line_and_column()
    {
        using var host = Host(new ManualClock(Now));
        var admin = host.AdminClient();
        var response = await admin.PostAsJsonAsync("/api/segments", new { key = "derm2", where = "performed \"Page Viewed\" at least two times" });
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("detail").GetString().Should().Be("Where: line 1, column 34: expected a whole number after 'at least', found 'two'");
        var cycle = await admin.PostAsJsonAsync("/api/segments/preview", new { where = "in segment \"nope\"" });
        (await cycle.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString().Should().Be("Where: line 1, column 12: unknown segment \"nope\"");
    }

    [Fact]
    public async Task The_host_refuses_to_start_with_an_invalid_segment_naming_its_key()
    {
        using var folder = new TempFolder();
        var app = Cdp.Host.CdpApp.Build(Cdp.Host.CdpApp.CreateBuilder([
            $"--Cdp:Storage:Path={folder.File("cdp.db")}", "--Cdp:Admin:ApiKeys:ops:Key=" + CdpHost.AdminKey,
            "--Cdp:Segments:derm:Where=performed \"Page Viewed\" at least two times"]));
        await using (app)
        {
            var validate = () => Cdp.Host.CdpApp.ValidateSettings(app.Services);
            validate.Should().Throw<OptionsValidationException>().Which.Message.Should()
                .Contain("Cdp:Segments:derm:Where: line 1, column 34: expected a whole number after 'at least', found 'two'");
        }
    }

    [Fact]
    public async Task Counters_stored_before_a_restart_count_with_events_after_it()
    {
        var clock = new ManualClock(Now);
        using var folder = new TempFolder();
        var settings = new Dictionary<string, string?> { ["Cdp:SegmentEvaluation:SweepSchedule"] = "" };
        using (var first = new CdpHost(settings, folder, s => s.AddSingleton<TimeProvider>(clock)))
        {
            // erin's first dermatology page is counted; other visitors have no segment state at all
            await Send(first, Page("erin", "/dermatology/acne", Now.AddDays(-2)), Page("finn", "/cardiology", Now.AddDays(-2)));
            (await Members(first.AdminClient(), Seed)).Should().BeEmpty();
        }

        using var second = new CdpHost(settings, folder, s => s.AddSingleton<TimeProvider>(clock));
        await Send(second, Page("finn", "/cardiology", Now.AddDays(-1)), Page("erin", "/dermatology/eczema", Now.AddDays(-1)));

        // the second page view only makes two with the counter stored by the first process
        var admin = second.AdminClient();
        (await Members(admin, Seed)).Should().Equal(await admin.ProfileId("anonymous_id:erin"));
    }

    [Fact]
    public async Task A_state_the_sweep_changed_is_not_taken_from_the_real_time_cache_afterwards()
    {
        var clock = new ManualClock(Now);
        using var host = Host(clock);
        var first = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
        await Send(host, Page("erin", "/dermatology/a", first), Page("erin", "/dermatology/b", Now)); // erin's state is now cached
        var admin = host.AdminClient();
        var erin = await admin.ProfileId("anonymous_id:erin");
        (await Members(admin, Seed)).Should().Equal(erin);

        clock.Set(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero));
        (await admin.PostAsync("/api/segments/sweep", null)).EnsureSuccessStatusCode(); // erin exits in the stored state
        await Send(host, Page("erin", "/cardiology", clock.GetUtcNow()));

        var history = await admin.GetFromJsonAsync<JsonElement>($"/api/segments/profiles/{erin}/history");
        history.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("change").GetString())
            .Should().Equal(["exited", "entered"], "the page after the sweep starts from the swept state: no second exit");
    }

    [Fact]
    public async Task Keeping_segment_states_in_memory_gives_the_same_memberships_history_and_counters_as_reading_them()
    {
        var random = new Random(20261129);
        string Next()
        {
            var v = "v" + random.Next(24);
            var at = Now.AddDays(-random.Next(0, 40)).AddMinutes(random.Next(1440));
            return random.Next(10) switch
            {
                < 4 => Page(v, "/dermatology/" + random.Next(3), at),
                < 7 => Page(v, "/cardiology", at),
                7 => Track(v, "Appointment Booked", at),
                8 => Identify(v, $$"""{"email":"pair{{random.Next(12)}}@example.com"}""", at), // shared emails merge visitors
                _ => Track(v, "Order Completed", at, """{"total":70}"""),
            };
        }
        var stream = Enumerable.Range(0, 240).Select(_ => Next()).ToList();

        async Task<string> Run(string cachedStates)
        {
            var clock = new ManualClock(Now);
            using var host = Host(clock, new Dictionary<string, string?> { ["Cdp:SegmentEvaluation:CachedStates"] = cachedStates });
            await Ready(host);
            var web = host.TrackingClient();
            // one batch per request (each processed before the next is sent): the history depends on batch boundaries
            foreach (var chunk in stream.Take(120).Chunk(7)) { await web.SendBatch(chunk); await host.Processed(); }
            clock.Set(Now.AddDays(12));
            (await host.AdminClient().PostAsync("/api/segments/sweep", null)).EnsureSuccessStatusCode();
            foreach (var chunk in stream.Skip(120).Chunk(7)) { await web.SendBatch(chunk); await host.Processed(); }
            host.Service<IProfileProcessor>().Status.LastError.Should().BeNull();
            var db = host.Service<Cdp.Modules.Shared.Storage.CdpDatabase>();
            var names = db.Database.GetCollectionNames().Where(n => n.StartsWith("segment_", StringComparison.Ordinal) && n != "segment_state").Order();
            return string.Join("\n", names.Select(n => n + ": " + string.Join(" ", db.Collection(n).FindAll().OrderBy(d => d["_id"]).Select(d => d.ToString()))));
        }

        var read = await Run("0");
        var kept = await Run("50000");
        read.Should().Contain("segment_history: {", "the stream moves people in and out of the segment");
        kept.Should().Be(read);
    }

    private static async Task Send(CdpHost host, params string[] events)
    {
        await Ready(host);
        var web = host.TrackingClient();
        foreach (var e in events) await web.SendBatch([e]); // one request each: the log's order is the order here
        await host.Processed();
        host.Service<IProfileProcessor>().Status.LastError.Should().BeNull();
    }

    /// <summary>Waits until every segment is built (the first build runs in the background after start-up).</summary>
    private static async Task Ready(CdpHost host)
    {
        var catalogue = host.Service<SegmentCatalogue>();
        // the catalogue marks a segment built inside the build's last transaction (so that the processor's next batch sees it);
        // its members are readable once that transaction committed, when the stored definitions say built too
        var definitions = host.Service<Cdp.Modules.Shared.Storage.CdpDatabase>().Collection("segment_defs");
        bool Built() => !catalogue.Current.Ordered.Any(s => !s.Built) && definitions.FindAll().All(d => d.TryGetValue("built", out var b) && b.AsBoolean);
        for (var i = 0; i < 600 && !Built(); i++) await Task.Delay(50);
        Built().Should().BeTrue();
    }

    private static async Task<List<string>> Members(HttpClient admin, string segment)
    {
        var page = await admin.GetFromJsonAsync<JsonElement>($"/api/segments/{segment}/members");
        return page.GetProperty("members").EnumerateArray().Select(m => m.GetString()!).ToList();
    }
}
