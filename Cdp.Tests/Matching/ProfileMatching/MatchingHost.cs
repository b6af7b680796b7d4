using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Matching.Engine;
using Cdp.Modules.Matching.ProfileMatching;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Tests.Support;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Matching.ProfileMatching;

/// <summary>
/// A real host whose matching model is set by hand so that scores are known: Exact +5, Else -5, every level in
/// between +3, Null 0, prior -10 (AutoMerge 0.99 = weight 6.63, Review 0.8 = weight 2). Term frequency is off so a
/// weight does not depend on how many profiles share a value.
/// </summary>
internal static class MatchingHost
{
    public const double PriorWeight = -10;

    /// <summary>The default comparisons with term frequency (indexes 0, 1, 5, 6, 7 in appsettings.json) turned off.</summary>
    public static Dictionary<string, string?> Settings(IDictionary<string, string?>? more = null)
    {
        var s = new Dictionary<string, string?>();
        foreach (var i in new[] { 0, 1, 5, 6, 7 }) s[$"Cdp:Identity:Matching:Comparisons:{i}:TermFrequency"] = "false";
        if (more is not null) foreach (var (k, v) in more) s[k] = v;
        return s;
    }

    public static IEnumerable<string> CommandLineSettings() => Settings().Select(kv => $"--{kv.Key}={kv.Value}");

    /// <summary>The matching host on either storage provider (PostgreSql: a fresh database of the test cluster).</summary>
    public static async Task<CdpHost> StartOn(string provider)
    {
        var host = await CdpHost.OnAsync(provider, Settings());
        SeedModel(host);
        return host;
    }

    public static CdpHost Start(IDictionary<string, string?>? more = null, TempFolder? folder = null)
    {
        var host = new CdpHost(Settings(more), folder);
        SeedModel(host);
        return host;
    }

    public static void SeedModel(CdpHost host)
    {
        var plan = host.Service<MatchingEngine>().Plan;
        var m = plan.Comparisons.Select(c => c.Levels.Select((l, i) => i == 0 ? 0 : Math.Pow(2, LevelWeight(l.Kind))).ToArray()).ToArray();
        var u = plan.Comparisons.Select(c => c.Levels.Select(_ => 1.0).ToArray()).ToArray();
        host.Service<MatchingStore>().SaveModel(new MatchModel(plan, MatchProbability.FromWeight(PriorWeight), m, u, []), 0, 0);
    }

    public static double LevelWeight(LevelKind kind) => kind switch { LevelKind.Exact => 5, LevelKind.Else => -5, _ => 3 };

    public static string Identify(string who, string traits, string idField = "anonymousId") =>
        $$"""{"type":"identify","{{idField}}":"{{who}}","traits":{{traits}}}""";

    // Jon/John Smith: first JaroWinkler>=0.92 +3, last +5, dob +5, email Else -5, street JaroWinkler>=0.9 +3, postcode +5, city +5: 21 - 10 = 11 (p 0.9995)
    public static readonly string Jon = Identify("jon", """{"firstName":"Jon","lastName":"Smith","birthday":"1980-01-02","email":"jon@example.com","address":{"street":"12 Main St","postalCode":"LS1 4AB","city":"Leeds"}}""");
    public static readonly string John = Identify("john", """{"firstName":"John","lastName":"Smith","birthday":"1980-01-02","email":"john.smith@work.example","address":{"street":"12 Main Street","postalCode":"LS1 4AB","city":"Leeds"}}""");

    // Mary Jones twice: first, last, dob exact: 15 - 10 = 5 (p 0.97): review
    public static readonly string Mary1 = Identify("mary1", """{"firstName":"Mary","lastName":"Jones","birthday":"1990-05-06"}""");
    public static readonly string Mary2 = Identify("mary2", """{"firstName":"Mary","lastName":"Jones","birthday":"1990-05-06","email":"mary@x.example"}""");

    // Ann and Bob Lee, same birthday: first Else -5, last +5, dob +5: 5 - 10 = -5 (p 0.03): nothing
    public static readonly string Ann = Identify("ann", """{"firstName":"Ann","lastName":"Lee","birthday":"1970-03-04"}""");
    public static readonly string Bob = Identify("bob", """{"firstName":"Bob","lastName":"Lee","birthday":"1970-03-04"}""");

    // Peter Parker under two user ids: 25 - 10 = 15, an AutoMerge score the user_id rule refuses
    private const string PeterTraits = """{"firstName":"Peter","lastName":"Parker","birthday":"1985-08-10","address":{"postalCode":"NY1","city":"Queens"}}""";
    public static readonly string Peter1 = Identify("u-1", PeterTraits, "userId");
    public static readonly string Peter2 = Identify("u-2", PeterTraits, "userId");

    public static async Task Seed(this CdpHost host, params string[] events)
    {
        var web = host.TrackingClient();
        foreach (var e in events) await web.SendBatch([e]); // one request each: profile numbers follow this order
        await host.Processed();
        host.Service<IProfileProcessor>().Status.LastError.Should().BeNull();
    }

    public static async Task<JsonElement> Run(this HttpClient admin, bool full = false)
    {
        var response = await admin.PostAsync($"/api/identity/matching/run?full={(full ? "true" : "false")}", null);
        var body = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.Should().BeTrue(body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public static async Task<JsonElement> Review(this HttpClient admin, string status = "pending")
    {
        return await admin.GetFromJsonAsync<JsonElement>($"/api/identity/review?status={status}");
    }

    public static int Int(this JsonElement e, string name) => e.GetProperty(name).GetInt32();
}
