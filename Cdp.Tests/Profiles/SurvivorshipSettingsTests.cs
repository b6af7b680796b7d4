using Cdp.Tests.Support;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Profiles;

/// <summary>Cdp:Profiles:Survivorship is validated at start-up: a wrong rule, path or source list stops the host naming the key.</summary>
public sealed class SurvivorshipSettingsTests
{
    private static void Validate(TempFolder folder, params string[] settings)
    {
        var app = Cdp.Host.CdpApp.CreateBuilder(["--environment=Development", $"--Cdp:Storage:Path={folder.File("cdp.db")}", .. settings]).Build();
        using (app as IDisposable) Cdp.Host.CdpApp.ValidateSettings(app.Services);
    }

    [Theory]
    [InlineData("Cdp:Profiles:Survivorship:Default=Newest", "Cdp:Profiles:Survivorship:Default", "no survivorship rule")]
    [InlineData("Cdp:Profiles:Survivorship:Traits:first_name:Rule=mostfrequent", "Cdp:Profiles:Survivorship:Traits:first_name:Rule", "no survivorship rule")]
    [InlineData("Cdp:Profiles:Survivorship:Traits:first_name:Rule=", "Cdp:Profiles:Survivorship:Traits:first_name:Rule", "no survivorship rule")]
    [InlineData("Cdp:Profiles:Survivorship:Traits:email:Rule=SourcePriority", "Cdp:Profiles:Survivorship:Traits:email:Sources", "needs the sources")]
    [InlineData("Cdp:Profiles:Survivorship:Traits:email:Rule=Longest|Cdp:Profiles:Survivorship:Traits:email:Sources:0=crm", "Cdp:Profiles:Survivorship:Traits:email:Sources", "only the rule SourcePriority")]
    [InlineData("Cdp:Profiles:Survivorship:Traits:email:Rule=SourcePriority|Cdp:Profiles:Survivorship:Traits:email:Sources:0=salesforce", "Cdp:Profiles:Survivorship:Traits:email:Sources:0", "\"salesforce\" is no source")]
    [InlineData("Cdp:Profiles:Survivorship:Traits:email:Rule=SourcePriority|Cdp:Profiles:Survivorship:Traits:email:Sources:0=web|Cdp:Profiles:Survivorship:Traits:email:Sources:1=web", "Cdp:Profiles:Survivorship:Traits:email:Sources:1", "listed twice")]
    [InlineData("Cdp:Profiles:Survivorship:Sources:0=hubspot", "Cdp:Profiles:Survivorship:Sources:0", "\"hubspot\" is no source")]
    [InlineData("Cdp:Profiles:Survivorship:Default=SourcePriority", "Cdp:Profiles:Survivorship:Sources", "needs the sources")]
    [InlineData("Cdp:Profiles:Survivorship:MaxCandidates=0", "Cdp:Profiles:Survivorship:MaxCandidates", "between 1 and 1000")]
    [InlineData("Cdp:Profiles:Survivorship:Traits:address..city:Rule=Longest", "address..city", "no trait path")]
    public void A_wrong_survivorship_setting_stops_the_start_naming_the_key(string settings, string key, string message)
    {
        using var folder = new TempFolder();
        var validate = () => Validate(folder, settings.Split('|').Select(s => "--" + s).ToArray());
        validate.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain(key).And.Contain(message);
    }

    [Fact]
    public void Rules_of_every_kind_with_known_sources_are_accepted()
    {
        using var folder = new TempFolder();
        var validate = () => Validate(folder,
            "--Cdp:Profiles:Survivorship:Sources:0=pos", "--Cdp:Sources:pos:WriteKey=pos-write-key-12345",
            "--Cdp:Profiles:Survivorship:Traits:first_name:Rule=MostFrequent", "--Cdp:Profiles:Survivorship:Traits:email:Rule=SourcePriority",
            "--Cdp:Profiles:Survivorship:Traits:signup:Rule=FirstSeen", "--Cdp:Profiles:Survivorship:Traits:address:Rule=Longest",
            "--Cdp:Profiles:Survivorship:Traits:address.city:Rule=NeverOverwrite", "--Cdp:Profiles:Survivorship:Traits:plan:Rule=MostRecent");
        validate.Should().NotThrow();
    }

    [Fact]
    public async Task The_executable_exits_with_code_2_naming_an_unknown_rule()
    {
        using var folder = new TempFolder();
        var (exitCode, output) = await CdpProcess.RunToExitAsync(folder.Path, "check-config", $"--Cdp:Storage:Path={folder.File("cdp.db")}",
            "--Cdp:Profiles:Survivorship:Traits:first_name:Rule=Frequent");
        exitCode.Should().Be(2, output);
        output.Should().Contain("Cdp:Profiles:Survivorship:Traits:first_name:Rule").And.Contain("\"Frequent\"").And.Contain("MostFrequent");
    }
}
