using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Support;

namespace Cdp.Tests.Profiles;

public sealed class ProfileProjectionTests : IDisposable
{
    private readonly CdpHost _host = new(new Dictionary<string, string?>
    {
        ["Cdp:Profiles:ComputedTraits:eur_orders_30d:Kind"] = "Count",
        ["Cdp:Profiles:ComputedTraits:eur_orders_30d:Event"] = "Order Completed",
        ["Cdp:Profiles:ComputedTraits:eur_orders_30d:Where:currency"] = "EUR",
        ["Cdp:Profiles:ComputedTraits:eur_orders_30d:Window"] = "30.00:00:00",
        ["Cdp:Profiles:ComputedTraits:avg_order:Kind"] = "Avg",
        ["Cdp:Profiles:ComputedTraits:avg_order:Event"] = "Order Completed",
        ["Cdp:Profiles:ComputedTraits:avg_order:Property"] = "revenue",
        ["Cdp:Profiles:ComputedTraits:first_product:Kind"] = "First",
        ["Cdp:Profiles:ComputedTraits:first_product:Event"] = "Order Completed",
        ["Cdp:Profiles:ComputedTraits:first_product:Property"] = "product.name",
        ["Cdp:Profiles:ComputedTraits:products:Kind"] = "Unique",
        ["Cdp:Profiles:ComputedTraits:products:Event"] = "Order Completed",
        ["Cdp:Profiles:ComputedTraits:products:Property"] = "product.name",
    });

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task Traits_merge_nested_objects_newest_first_and_computed_traits_follow_their_filters_and_windows()
    {
        var web = _host.TrackingClient();
        var now = DateTime.UtcNow;
        string At(int daysAgo) => now.AddDays(-daysAgo).ToString("O");
        await web.Send("identify", $$$"""{"userId":"u1","traits":{"plan":"pro","address":{"city":"Leeds","zip":"LS1"}},"timestamp":"{{{At(3)}}}"}""");
        await web.Send("identify", $$$"""{"userId":"u1","traits":{"plan":"basic","address":{"city":"York"}},"timestamp":"{{{At(5)}}}"}""");
        await web.Send("track", """{"userId":"u1","event":"Order Completed","properties":{"revenue":10,"currency":"EUR","product":{"name":"cream"}},"context":{"traits":{"address":{"street":"Main St"}}},"timestamp":"TS"}""".Replace("TS", At(40)));
        await web.Send("track", $$$"""{"userId":"u1","event":"Order Completed","properties":{"revenue":20,"currency":"EUR","product":{"name":"serum"}},"timestamp":"{{{At(2)}}}"}""");
        await web.Send("track", $$$"""{"userId":"u1","event":"Order Completed","properties":{"revenue":60,"currency":"USD","product":{"name":"cream"}},"timestamp":"{{{At(1)}}}"}""");
        await web.Send("group", $$$"""{"userId":"u1","groupId":"acme","traits":{"name":"Acme Ltd","employees":40},"timestamp":"{{{At(1)}}}"}""");
        await _host.Processed();

        var admin = _host.AdminClient();
        var traits = (await admin.Profile("user_id:u1", "traits"))!.Value;
        var t = traits.GetProperty("traits");
        t.GetProperty("plan").GetString().Should().Be("pro", "the identify with the newer timestamp wins even though it arrived first");
        t.GetProperty("address").GetProperty("city").GetString().Should().Be("Leeds");
        t.GetProperty("address").GetProperty("zip").GetString().Should().Be("LS1");
        t.GetProperty("address").GetProperty("street").GetString().Should().Be("Main St", "context.traits count too; nested objects merge");
        var c = traits.GetProperty("computedTraits");
        c.GetProperty("eur_orders_30d").GetInt64().Should().Be(1, "one EUR order within 30 days (the other is 40 days old, the third is USD)");
        c.GetProperty("avg_order").GetDouble().Should().Be(30);
        c.GetProperty("first_product").GetString().Should().Be("cream");
        c.GetProperty("products").EnumerateArray().Select(x => x.GetString()).Should().BeEquivalentTo("cream", "serum");
        c.GetProperty("lifetime_revenue").GetDouble().Should().Be(90, "the appsettings default computed trait");

        var profile = (await admin.Profile("user_id:u1"))!.Value;
        profile.GetProperty("groups").EnumerateArray().Select(x => x.GetString()).Should().Equal("acme");
        profile.GetProperty("trackEvents").GetProperty("Order Completed").GetInt64().Should().Be(3);
        profile.GetProperty("eventTypes").GetProperty("identify").GetInt64().Should().Be(2);
        var account = await admin.GetFromJsonAsync<JsonElement>("/api/profiles/accounts/acme");
        account.GetProperty("traits").GetProperty("name").GetString().Should().Be("Acme Ltd");
        account.GetProperty("members").EnumerateArray().Select(x => x.GetString()).Should().Equal(profile.GetProperty("id").GetString());

        var search = await admin.GetFromJsonAsync<JsonElement>("/api/profiles/search?trait=address.city&value=Leeds");
        search.GetProperty("profiles").EnumerateArray().Select(x => x.GetProperty("id").GetString()).Should().Equal(profile.GetProperty("id").GetString());
        var byId = await admin.GetFromJsonAsync<JsonElement>("/api/profiles/search?identifier=user_id:u1");
        byId.GetProperty("profiles").GetArrayLength().Should().Be(1);
        (await admin.GetAsync("/api/profiles/search?trait=x;drop")).StatusCode.Should().Be(System.Net.HttpStatusCode.BadRequest);
    }
}
