using System.Net;
using Cdp.Tests.Support;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Governance;

public sealed class AdminKeySettingsTests
{
    private const string SampleKey = "dev-admin-key-change-me";

    private static void Validate(TempFolder folder, string environment, params string[] settings)
    {
        var app = Cdp.Host.CdpApp.CreateBuilder([$"--environment={environment}", $"--Cdp:Storage:Path={folder.File("cdp.db")}", .. settings]).Build();
        using (app as IDisposable) Cdp.Host.CdpApp.ValidateSettings(app.Services);
    }

    [Theory]
    [InlineData(SampleKey, "is the sample key")]
    [InlineData("only-twenty-chars-xx", "at least 24 characters")]
    [InlineData("", "at least")]
    public void Outside_Development_a_weak_or_sample_admin_key_stops_the_start_naming_the_setting(string key, string message)
    {
        using var folder = new TempFolder();
        var validate = () => Validate(folder, "Production", $"--Cdp:Admin:ApiKeys:ops:Key={key}");
        validate.Should().Throw<OptionsValidationException>().Which.Message.Should()
            .Contain("Cdp:Admin:ApiKeys:ops:Key").And.Contain(message);
    }

    [Fact]
    public void In_Development_the_sample_key_is_accepted_and_elsewhere_a_long_random_key()
    {
        using var folder = new TempFolder();
        var development = () => Validate(folder, "Development", $"--Cdp:Admin:ApiKeys:dev-admin:Key={SampleKey}");
        development.Should().NotThrow();
        var production = () => Validate(folder, "Production", "--Cdp:Admin:ApiKeys:ops:Key=Zx8v1Qm3Lr6Tt9Yb2Nc5Ws7Ke0");
        production.Should().NotThrow();
    }

    [Fact]
    public void The_shipped_appsettings_json_has_no_admin_key_only_the_development_file_has_the_sample()
    {
        var shipped = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "appsettings.json"));
        shipped.Should().NotContain(SampleKey);
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "appsettings.Development.json")).Should().Contain(SampleKey);
    }

    [Fact]
    public async Task The_executable_exits_with_code_2_for_a_short_admin_key_from_an_environment_variable()
    {
        using var folder = new TempFolder();
        var (exitCode, output) = await CdpProcess.RunToExitAsync(folder.Path,
            new Dictionary<string, string> { ["Cdp__Admin__ApiKeys__fromenv__Key"] = "short-env-key-of-20-ch" },
            "check-config", $"--Cdp:Storage:Path={folder.File("cdp.db")}");
        exitCode.Should().Be(2, output);
        output.Should().Contain("Cdp:Admin:ApiKeys:fromenv:Key").And.Contain("at least 24 characters");
    }

    [Fact]
    public async Task An_admin_key_from_environment_variables_opens_the_admin_api_of_the_running_server()
    {
        using var folder = new TempFolder();
        const string envKey = "env-key-Qp4Zr8Lm2Vx6Tn1Hb5Wd";
        using var cdp = await CdpProcess.StartAsync(folder.Path, environment: new Dictionary<string, string>
        {
            ["Cdp__Admin__ApiKeys__fromenv__Key"] = envKey,
            ["Cdp__Admin__ApiKeys__fromenv__Role"] = "Analyst",
        });
        using var client = new HttpClient { BaseAddress = cdp.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new("Bearer", envKey);
        (await client.GetAsync("/api/segments")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.PostAsync("/api/segments/sweep", null)).StatusCode.Should().Be(HttpStatusCode.Forbidden, "the role came from the environment too");
    }
}
