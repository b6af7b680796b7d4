using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Modules.Matching.Engine;
using Cdp.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Cdp.Tests.Matching.ProfileMatching.MatchingHost;

namespace Cdp.Tests.Matching.ProfileMatching;

/// <summary>A live matching run checks the settings' fields against the profiles; trait names match fields ignoring case.</summary>
public sealed class MatchRunFieldTests
{
    [Fact]
    public async Task A_run_warns_in_its_report_the_runs_API_and_the_log_about_each_field_no_profile_has_and_fields_under_one_percent()
    {
        var log = new CapturedLog(minimum: LogLevel.Warning);
        using var host = new CdpHost(Settings(), services: s => s.AddSingleton<ILoggerProvider>(log));
        SeedModel(host);
        // 150 people with names and birthdays, one of them with a phone; nobody has an email or an address
        var people = Enumerable.Range(0, 150).Select(i => Identify($"p{i}",
            i == 0 ? """{"firstName":"Ann","lastName":"Lee","birthday":"1970-03-04","phone":"+1 202 555 0100"}"""
                   : $$"""{"firstName":"N{{i}}","lastName":"Lee{{i % 7}}","birthday":"1970-03-04"}"""));
        await host.TrackingClient().SendBatch(people);
        await host.Processed();
        var admin = host.AdminClient();

        var run = await admin.Run(full: true);

        var warnings = run.GetProperty("fieldWarnings").EnumerateArray().ToDictionary(w => w.GetProperty("field").GetString()!);
        warnings.Keys.Should().BeEquivalentTo("email", "phone", "address.street", "address.postalCode", "address.city");
        warnings["email"].Int("profiles").Should().Be(0);
        warnings["email"].GetProperty("message").GetString().Should().Contain("no profile has the field 'email'");
        warnings["address.postalCode"].GetProperty("usedBy").EnumerateArray().Select(u => u.GetString())
            .Should().BeEquivalentTo("comparison address.postalCode", "blocking rule address.postalCode+firstName:1");
        warnings["phone"].Int("profiles").Should().Be(1);
        warnings["phone"].GetProperty("message").GetString().Should().Contain("only 1 of 150 profiles");
        var runs = await admin.GetFromJsonAsync<JsonElement>("/api/identity/matching/runs?limit=1");
        runs.GetProperty("runs")[0].GetProperty("fieldWarnings").GetArrayLength().Should().Be(5);
        log.Lines.Should().Contain(l => l.Contains("no profile has the field 'address.city'"));
    }

    [Fact]
    public async Task Trait_names_match_the_comparison_fields_ignoring_case_like_the_CSV_import_and_raise_no_warning()
    {
        using var host = Start();
        await host.Seed(
            Identify("m1", """{"FirstName":"Mary","LASTNAME":"Jones","Birthday":"1990-05-06"}"""),
            Identify("m2", """{"firstname":"Mary","lastName":"Jones","birthday":"1990-05-06"}"""));
        var admin = host.AdminClient();

        var run = await admin.Run();

        run.Int("queuedForReview").Should().Be(1, "first name, last name and birthday agree: 15 - 10 = 5");
        run.GetProperty("fieldWarnings").EnumerateArray().Select(w => w.GetProperty("field").GetString())
            .Should().NotContain(["firstName", "lastName", "birthday"]);
        var item = (await admin.Review()).GetProperty("items")[0];
        item.GetProperty("comparisons").EnumerateArray().First(c => c.GetProperty("name").GetString() == "lastName")
            .GetProperty("level").GetString().Should().Be("Exact");
    }

    [Fact]
    public void A_member_guard_weight_out_of_range_is_refused_naming_the_key()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Cdp:Identity:Matching:MemberGuard:DisagreementWeight"] = "0" }).Build();
        var services = new ServiceCollection();
        MatchingRegistration.Add(services, configuration);
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<MatchingOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().Which.Failures
            .Should().ContainSingle(f => f.StartsWith("Cdp:Identity:Matching:MemberGuard:DisagreementWeight:", StringComparison.Ordinal));
    }
}
