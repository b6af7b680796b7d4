using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cdp.Tests.Support;
using static Cdp.Tests.Collection.Webhooks.WebhookTestKit;

namespace Cdp.Tests.Collection.Webhooks;

/// <summary>The generic mapped webhook on the real host: the README's call-tracking and form examples, and the path mapping table.</summary>
public sealed class MappedWebhookTests : IDisposable
{
    private const string HmacSecret = "shared-secret-from-the-vendor";
    private const string FormSecret = "a-long-random-url-secret-43";
    private static readonly Dictionary<string, string?> Settings = new()
    {
        // the README's worked example 1: call tracking, HMAC-signed
        ["Cdp:Sources:calls:Kind"] = "Mapped",
        ["Cdp:Sources:calls:Signature:Header"] = "X-Signature",
        ["Cdp:Sources:calls:Signature:Secret"] = HmacSecret,
        ["Cdp:Sources:calls:Signature:Prefix"] = "sha256=",
        ["Cdp:Sources:calls:Mapping:Event"] = "Call Completed",
        ["Cdp:Sources:calls:Mapping:MessageId"] = "$.call_id",
        ["Cdp:Sources:calls:Mapping:Timestamp"] = "$.ended_at",
        ["Cdp:Sources:calls:Mapping:Identifiers:phone"] = "$.caller.phone",
        ["Cdp:Sources:calls:Mapping:Traits:name"] = "$.caller.name",
        ["Cdp:Sources:calls:Mapping:Properties:duration_sec"] = "$.duration_sec",
        ["Cdp:Sources:calls:Mapping:Properties:campaign"] = "$.campaign",
        ["Cdp:Sources:calls:Mapping:Properties:first_tag"] = "$.tags[0]",
        // the README's worked example 2: a form, secret in the URL
        ["Cdp:Sources:forms:Kind"] = "Mapped",
        ["Cdp:Sources:forms:Secret"] = FormSecret,
        ["Cdp:Sources:forms:Mapping:Event"] = "Form Submitted",
        ["Cdp:Sources:forms:Mapping:MessageId"] = "$.submission_id",
        ["Cdp:Sources:forms:Mapping:Identifiers:email"] = "$.email",
        ["Cdp:Sources:forms:Mapping:Traits:first_name"] = "$.first_name",
        ["Cdp:Sources:forms:Mapping:Traits:marketing_consent"] = "$.newsletter",
        ["Cdp:Sources:forms:Mapping:Properties:form_id"] = "$.form_id",
        // a batch under a key, the event name from the payload
        ["Cdp:Sources:pay:Kind"] = "Mapped",
        ["Cdp:Sources:pay:Secret"] = FormSecret,
        ["Cdp:Sources:pay:Mapping:Items"] = "$.data",
        ["Cdp:Sources:pay:Mapping:Event"] = "$.kind",
        ["Cdp:Sources:pay:Mapping:Identifiers:user_id"] = "$.customer",
        ["Cdp:Sources:pay:Mapping:Properties:amount"] = "$['amount paid']",
    };

    private CdpHost _host = new(Settings); // LiteDB; started on first use

    public static TheoryData<string> Providers => CdpHost.Providers;

    /// <summary>The host on <paramref name="provider"/> instead (the LiteDB one was never started).</summary>
    private async Task On(string provider)
    {
        _host.Dispose();
        _host = await CdpHost.OnAsync(provider, Settings);
    }

    public void Dispose() => _host.Dispose();

    private static HttpRequestMessage Signed(string body, string? signature = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/calls") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Signature", signature ?? "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(HmacSecret), Encoding.UTF8.GetBytes(body))));
        return request;
    }

    private const string Call = """{"call_id":"CA9f2c","status":"completed","ended_at":"2026-03-02T10:14:00Z","caller":{"phone":"+44 20 7946 0958","name":"Jane Doe"},"duration_sec":312,"campaign":"dermatology-spring","tags":["new","dermatology"]}""";

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_signed_call_completed_lands_on_the_callers_profile_once(string provider)
    {
        await On(provider);
        var client = _host.CreateClient();

        (await client.SendAsync(Signed(Call))).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.SendAsync(Signed(Call))).StatusCode.Should().Be(HttpStatusCode.OK, "a redelivery");

        var stored = _host.Logged("calls").Should().ContainSingle().Subject;
        stored.Event().Should().Be("Call Completed");
        stored.GetProperty("messageId").GetString().Should().Be("CA9f2c");
        stored.GetProperty("timestamp").GetString().Should().StartWith("2026-03-02T10:14:00");
        stored.GetProperty("properties").GetProperty("duration_sec").GetInt32().Should().Be(312);
        stored.GetProperty("properties").GetProperty("first_tag").GetString().Should().Be("new");
        stored.GetProperty("context").GetProperty("traits").GetProperty("name").GetString().Should().Be("Jane Doe");
        await _host.Processed();
        var profile = (await _host.AdminClient().Profile("phone:+442079460958"))!.Value;
        profile.GetProperty("traits").GetProperty("name").GetString().Should().Be("Jane Doe");
    }

    [Fact]
    public async Task A_missing_or_wrong_signature_is_refused_and_stores_nothing()
    {
        var client = _host.CreateClient();
        var unsigned = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/calls") { Content = new StringContent(Call, Encoding.UTF8, "application/json") };

        (await client.SendAsync(unsigned)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await client.SendAsync(Signed(Call, "sha256=" + new string('0', 64)))).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var changed = Signed(Call);
        changed.Content = new StringContent(Call.Replace("312", "313", StringComparison.Ordinal), Encoding.UTF8, "application/json");
        (await client.SendAsync(changed)).StatusCode.Should().Be(HttpStatusCode.Forbidden);

        _host.Logged("calls").Should().BeEmpty();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_form_submission_sets_traits_and_consent_and_needs_the_url_secret(string provider)
    {
        await On(provider);
        const string form = "form_id=contact&submission_id=8812&email=Jane%40Clinic-Mail.com&first_name=Jane&treatment=dermatology&newsletter=yes";
        var client = _host.CreateClient();
        HttpRequestMessage Post(string secret) => new(HttpMethod.Post, "/v1/webhooks/forms/" + secret) { Content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded") };

        (await client.SendAsync(Post("wrong-secret-0123456789ab"))).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        _host.Logged("forms").Should().BeEmpty();
        (await client.SendAsync(Post(FormSecret))).StatusCode.Should().Be(HttpStatusCode.OK);

        var stored = _host.Logged("forms").Should().ContainSingle().Subject;
        stored.Event().Should().Be("Form Submitted");
        stored.GetProperty("anonymousId").GetString().Should().Be("jane@clinic-mail.com");
        await _host.Processed();
        var profile = (await _host.AdminClient().Profile("email:jane@clinic-mail.com"))!.Value;
        profile.GetProperty("traits").GetProperty("first_name").GetString().Should().Be("Jane");
        profile.GetProperty("consent").GetProperty("marketing").GetProperty("granted").GetBoolean().Should().BeTrue();
        profile.GetProperty("consent").GetProperty("marketing").GetProperty("via").GetString().Should().Be("forms");
    }

    /// <summary>The path mapping, item by item: stored with these values, or a dead letter naming the mapping key. Never a 5xx.</summary>
    [Theory]
    [InlineData("""{"kind":"Payment Made","customer":"c1","amount paid":12.5}""", "Payment Made", "c1", "12.5")]
    [InlineData("""{"kind":"Refund","customer":42}""", "Refund", "42", null)]
    [InlineData("""{"kind":"Payment Made","customer":"c1","amount paid":{"value":1}}""", "Payment Made", "c1", "{\"value\":1}")]
    [InlineData("""{"customer":"c1"}""", null, "Event", "nothing at $.kind")]
    [InlineData("""{"kind":"","customer":"c1"}""", null, "Event", "nothing at $.kind")]
    [InlineData("""{"kind":{"name":"x"},"customer":"c1"}""", null, "Event", "holds an object")]
    [InlineData("""{"kind":["a"],"customer":"c1"}""", null, "Event", "holds an array")]
    [InlineData("""{"kind":"Payment Made"}""", null, "Identifiers", "none of $.customer")]
    [InlineData("""{"kind":"Payment Made","customer":null}""", null, "Identifiers", "none of $.customer")]
    [InlineData("""{"kind":"Payment Made","customer":true}""", null, "Identifiers:user_id", "holds a boolean")]
    [InlineData("""{"kind":"Payment Made","customer":{"id":1}}""", null, "Identifiers:user_id", "holds an object")]
    [InlineData("""7""", null, "item", "must be a JSON object")]
    [InlineData("""[1]""", null, "item", "must be a JSON object")]
    public async Task The_path_mapping_stores_readable_items_and_dead_letters_the_rest(string item, string? storedEvent, string userIdOrField, string? amountOrReason)
    {
        var body = """{"data":[""" + item + """,{"kind":"Marker","customer":"m"}]}""";

        var response = await _host.CreateClient().PostAsync("/v1/webhooks/pay/" + FormSecret, new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var stored = _host.Logged("pay");
        stored.Should().Contain(e => e.Event() == "Marker", "the other item of the delivery is stored");
        var dead = await _host.DeadLetters("pay");
        if (storedEvent is not null)
        {
            dead.Should().BeEmpty();
            var e = stored.Single(s => s.Event() != "Marker");
            e.Event().Should().Be(storedEvent);
            e.GetProperty("userId").GetString().Should().Be(userIdOrField);
            if (amountOrReason is null) e.GetProperty("properties").TryGetProperty("amount", out _).Should().BeFalse();
            else e.GetProperty("properties").GetProperty("amount").GetRawText().Should().Be(amountOrReason);
        }
        else
        {
            stored.Should().ContainSingle();
            var error = dead.Should().ContainSingle().Subject.GetProperty("errors").EnumerateArray().Single();
            error.GetProperty("field").GetString().Should().Be(userIdOrField);
            error.GetProperty("message").GetString().Should().Contain(amountOrReason);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_body_without_the_items_array_or_not_json_is_a_dead_letter_not_an_error(string provider)
    {
        await On(provider);
        var client = _host.CreateClient();

        var noArray = await client.PostAsync("/v1/webhooks/pay/" + FormSecret, new StringContent("""{"data":{"kind":"x"}}""", Encoding.UTF8, "application/json"));
        var notJson = await client.PostAsync("/v1/webhooks/pay/" + FormSecret, new StringContent("""{"data":[""", Encoding.UTF8, "application/json"));

        noArray.StatusCode.Should().Be(HttpStatusCode.OK);
        notJson.StatusCode.Should().Be(HttpStatusCode.OK);
        _host.Logged("pay").Should().BeEmpty();
        (await _host.DeadLetters("pay")).Select(d => d.GetProperty("errors")[0].GetProperty("field").GetString()).Should().BeEquivalentTo(["Items", "body"]);
    }
}
