using System.Text.Json;
using Cdp.Tests.Support;

namespace Cdp.Tests.Profiles;

/// <summary>
/// Survivorship rules (Cdp:Profiles:Survivorship) through the real Tracking API, processor and Profile API: which value a
/// trait keeps when events and merged profiles disagree, and the "why" view naming the rule and the event.
/// </summary>
public sealed class SurvivorshipTests : IDisposable
{
    private readonly CdpHost _host = new(new Dictionary<string, string?>
    {
        ["Cdp:Profiles:Survivorship:Traits:first_name:Rule"] = "MostFrequent",
        ["Cdp:Profiles:Survivorship:Traits:job_title:Rule"] = "SourcePriority",
        ["Cdp:Profiles:Survivorship:Traits:job_title:Sources:0"] = "crm",
        ["Cdp:Profiles:Survivorship:Traits:job_title:Sources:1"] = "web",
        ["Cdp:Profiles:Survivorship:Traits:signup_channel:Rule"] = "FirstSeen",
        ["Cdp:Profiles:Survivorship:Traits:plan:Rule"] = "NeverOverwrite",
        ["Cdp:Profiles:Survivorship:Traits:address:Rule"] = "Longest",
        ["Cdp:Profiles:Survivorship:Traits:address.country:Rule"] = "MostRecent",
    });

    private static readonly DateTime Base = DateTime.UtcNow.AddDays(-30);

    private static string At(int hours) => Base.AddHours(hours).ToString("O");

    public void Dispose() => _host.Dispose();

    private static string Identify(string ids, string traits, int hours, string? messageId = null) =>
        $$$"""{"type":"identify",{{{ids}}},"traits":{{{traits}}},"timestamp":"{{{At(hours)}}}"{{{(messageId is null ? "" : $",\"messageId\":\"{messageId}\"")}}}}""";

    private static JsonElement Trait(JsonElement why, string path) =>
        why.GetProperty("traits").EnumerateArray().Single(t => t.GetProperty("path").GetString() == path);

    [Fact]
    public async Task Most_frequent_keeps_the_spelling_most_records_have_across_a_merge_and_the_merge_equals_one_profile_given_all_records()
    {
        var web = _host.TrackingClient();
        // the CRM duplicate (anonymous id per row) spells it right twice; the user's own profile once right, then a typo, last
        await web.SendBatch([
            Identify("\"anonymousId\":\"row-1\"", "{\"first_name\":\"thomas\",\"nickname\":\"tom\"}", 1),
            Identify("\"anonymousId\":\"row-1\"", "{\"first_name\":\"thomas\"}", 2),
            Identify("\"userId\":\"u-thomas\"", "{\"first_name\":\"thomas\"}", 3),
            Identify("\"userId\":\"u-thomas\"", "{\"first_name\":\"thomzs\",\"nickname\":\"tommy\"}", 4),
            // the same four records, all to one profile
            Identify("\"userId\":\"u-single\"", "{\"first_name\":\"thomas\",\"nickname\":\"tom\"}", 1),
            Identify("\"userId\":\"u-single\"", "{\"first_name\":\"thomas\"}", 2),
            Identify("\"userId\":\"u-single\"", "{\"first_name\":\"thomas\"}", 3),
            Identify("\"userId\":\"u-single\"", "{\"first_name\":\"thomzs\",\"nickname\":\"tommy\"}", 4),
        ]);
        await _host.Processed();
        var admin = _host.AdminClient();
        (await admin.Profile("user_id:u-thomas", "traits"))!.Value.GetProperty("traits").GetProperty("first_name").GetString()
            .Should().Be("thomzs", "alone, the user's profile has each spelling once: the tie goes to the most recent");

        await web.Send("track", $$$"""{"userId":"u-thomas","anonymousId":"row-1","event":"Linked","timestamp":"{{{At(5)}}}"}""");
        await _host.Processed();
        var merged = (await admin.Profile("user_id:u-thomas", "traits"))!.Value.GetProperty("traits");
        merged.GetProperty("first_name").GetString().Should().Be("thomas", "three records of the merged profile say thomas, one thomzs");
        merged.GetProperty("nickname").GetString().Should().Be("tommy", "traits without a rule keep the default, the most recent value");

        var why = (await admin.Profile("user_id:u-thomas", "traits/why"))!.Value;
        var firstName = Trait(why, "first_name");
        firstName.GetProperty("rule").GetString().Should().Be("MostFrequent");
        firstName.GetProperty("count").GetInt64().Should().Be(3);
        firstName.GetProperty("at").GetDateTime().Should().Be(Base.AddHours(3), "the newest record that said thomas");
        firstName.GetProperty("candidates").EnumerateArray().Select(c => (c.GetProperty("value").GetString(), c.GetProperty("count").GetInt64()))
            .Should().Equal(("thomas", 3L), ("thomzs", 1L));

        var single = (await admin.Profile("user_id:u-single", "traits/why"))!.Value;
        var mergedCounts = Trait(why, "first_name").GetProperty("candidates").EnumerateArray().Select(c => c.GetProperty("count").GetInt64() + "@" + c.GetProperty("lastSeen")).ToList();
        var singleCounts = Trait(single, "first_name").GetProperty("candidates").EnumerateArray().Select(c => c.GetProperty("count").GetInt64() + "@" + c.GetProperty("lastSeen")).ToList();
        mergedCounts.Should().Equal(singleCounts, "merging the two profiles gives what applying all four records to one profile gives");
        Trait(why, "nickname").GetProperty("value").GetString().Should().Be(Trait(single, "nickname").GetProperty("value").GetString());
    }

    [Fact]
    public async Task Source_priority_prefers_the_crm_over_website_forms_and_within_a_source_the_most_recent()
    {
        var crm = _host.TrackingClient(CdpHost.StrictWriteKey);
        var web = _host.TrackingClient();
        await crm.Send("identify", Identify("\"userId\":\"u-ann\"", "{\"job_title\":\"Head of Sales\"}", 1, "crm-1"));
        await web.Send("identify", Identify("\"userId\":\"u-ann\"", "{\"job_title\":\"sales guy\"}", 10, "web-1"));
        await _host.Processed();
        var admin = _host.AdminClient();
        (await admin.Profile("user_id:u-ann", "traits"))!.Value.GetProperty("traits").GetProperty("job_title").GetString()
            .Should().Be("Head of Sales", "the CRM outranks the website's form even though the form is newer");

        await crm.Send("identify", Identify("\"userId\":\"u-ann\"", "{\"job_title\":\"VP Sales\"}", 5, "crm-2"));
        await web.Send("identify", Identify("\"userId\":\"u-ann\"", "{\"job_title\":\"boss\"}", 20, "web-2"));
        await _host.Processed();
        var why = (await admin.Profile("user_id:u-ann", "traits/why"))!.Value;
        var title = Trait(why, "job_title");
        title.GetProperty("value").GetString().Should().Be("VP Sales", "the newest of the CRM's values");
        title.GetProperty("rule").GetString().Should().Be("SourcePriority");
        title.GetProperty("source").GetString().Should().Be("crm");
        title.GetProperty("messageId").GetString().Should().Be("crm-2");
        title.GetProperty("at").GetDateTime().Should().Be(Base.AddHours(5));
        title.GetProperty("sources").EnumerateArray().Select(s => s.GetString()).Should().Equal("crm", "web");

        var openApi = await _host.CreateClient().GetStringAsync("/openapi/v1.json");
        openApi.Should().Contain("/api/profiles/{reference}/traits/why", "the why endpoint is in the OpenAPI document");
    }

    [Fact]
    public async Task First_seen_follows_event_time_while_never_overwrite_keeps_the_value_that_arrived_first_and_blanks_change_neither()
    {
        var web = _host.TrackingClient();
        // arrives first, claims day 10; then a backdated import of the same person, claiming day 1
        await web.Send("identify", Identify("\"userId\":\"u-bea\"", "{\"signup_channel\":\"ads\",\"plan\":\"basic\"}", 240, "first-arrival"));
        await _host.Processed();
        await web.Send("identify", Identify("\"userId\":\"u-bea\"", "{\"signup_channel\":\"referral\",\"plan\":\"pro\"}", 24, "backdated"));
        await web.Send("identify", Identify("\"userId\":\"u-bea\"", "{\"signup_channel\":\"\",\"plan\":null}", 1));
        await _host.Processed();
        var admin = _host.AdminClient();
        var traits = (await admin.Profile("user_id:u-bea", "traits"))!.Value.GetProperty("traits");
        traits.GetProperty("signup_channel").GetString().Should().Be("referral", "FirstSeen: the earliest event time, whenever it arrived");
        traits.GetProperty("plan").GetString().Should().Be("basic", "NeverOverwrite: the value that reached the log first stays");

        var why = (await admin.Profile("user_id:u-bea", "traits/why"))!.Value;
        Trait(why, "plan").GetProperty("messageId").GetString().Should().Be("first-arrival");
        Trait(why, "plan").GetProperty("rule").GetString().Should().Be("NeverOverwrite");
        Trait(why, "signup_channel").GetProperty("messageId").GetString().Should().Be("backdated");
        Trait(why, "signup_channel").GetProperty("rule").GetString().Should().Be("FirstSeen");
    }

    [Fact]
    public async Task Longest_keeps_the_most_complete_value_of_each_leaf_under_an_object_and_a_longer_path_keeps_its_own_rule()
    {
        var web = _host.TrackingClient();
        await web.SendBatch([
            Identify("\"userId\":\"u-cy\"", "{\"address\":{\"street\":\"12 Main Street, Flat 3\",\"country\":\"UK\"}}", 1, "long"),
            Identify("\"userId\":\"u-cy\"", "{\"address\":{\"street\":\"12 Main St\",\"country\":\"United Kingdom\"}}", 2),
            Identify("\"userId\":\"u-cy\"", "{\"address\":{\"street\":\"  Main  \",\"country\":\"GB\"}}", 3, "newest"),
        ]);
        await _host.Processed();
        var admin = _host.AdminClient();
        var address = (await admin.Profile("user_id:u-cy", "traits"))!.Value.GetProperty("traits").GetProperty("address");
        address.GetProperty("street").GetString().Should().Be("12 Main Street, Flat 3", "address's rule covers its leaves: the longest street wins");
        address.GetProperty("country").GetString().Should().Be("GB", "address.country names its own rule, MostRecent");

        var why = (await admin.Profile("user_id:u-cy", "traits/why"))!.Value;
        Trait(why, "address.street").GetProperty("rule").GetString().Should().Be("Longest");
        Trait(why, "address.street").GetProperty("messageId").GetString().Should().Be("long");
        var country = Trait(why, "address.country");
        country.GetProperty("rule").GetString().Should().Be("MostRecent");
        country.GetProperty("messageId").GetString().Should().Be("newest", "a MostRecent trait's event is found in the profile's events");
        country.GetProperty("source").GetString().Should().Be("web");
    }
}
