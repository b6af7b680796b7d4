using Cdp.Tests.Support;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Collection;

/// <summary>The published sample write key works in Development only, like the sample admin key.</summary>
public sealed class WriteKeySettingsTests
{
    private const string SampleWriteKey = "dev-website-write-key";

    private static void Validate(TempFolder folder, string environment, params string[] settings)
    {
        var app = Cdp.Host.CdpApp.CreateBuilder([$"--environment={environment}", $"--Cdp:Storage:Path={folder.File("cdp.db")}", .. settings]).Build();
        using (app as IDisposable) Cdp.Host.CdpApp.ValidateSettings(app.Services);
    }

    [Fact]
    public void Outside_Development_the_sample_write_key_stops_the_start_naming_the_setting()
    {
        using var folder = new TempFolder();
        var validate = () => Validate(folder, "Production", $"--Cdp:Sources:shop:WriteKey={SampleWriteKey}");
        validate.Should().Throw<OptionsValidationException>().Which.Message.Should()
            .Contain("Cdp:Sources:shop:WriteKey").And.Contain("sample write key");
    }

    [Fact]
    public void In_Development_the_sample_write_key_is_accepted_and_elsewhere_a_key_of_your_own()
    {
        using var folder = new TempFolder();
        var development = () => Validate(folder, "Development");
        development.Should().NotThrow("appsettings.Development.json's website source has the sample key");
        var production = () => Validate(folder, "Production", "--Cdp:Sources:website:WriteKey=9f3c1e7a5b2d4f60");
        production.Should().NotThrow();
    }

    [Fact]
    public void The_shipped_appsettings_json_has_no_sample_write_key_only_the_development_file_has_it()
    {
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "appsettings.json")).Should().NotContain(SampleWriteKey);
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "appsettings.Development.json")).Should().Contain(SampleWriteKey);
    }

    [Fact]
    public async Task The_executable_exits_with_code_2_naming_a_source_that_has_the_sample_write_key()
    {
        using var folder = new TempFolder();
        var (exitCode, output) = await CdpProcess.RunToExitAsync(folder.Path,
            new Dictionary<string, string> { ["Cdp__Sources__website__WriteKey"] = SampleWriteKey },
            "check-config", $"--Cdp:Storage:Path={folder.File("cdp.db")}");
        exitCode.Should().Be(2, output);
        output.Should().Contain("Cdp:Sources:website:WriteKey").And.Contain("sample write key");
    }
}
