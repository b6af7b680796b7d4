using Cdp.Tests.Support;
using FluentAssertions;

namespace Cdp.Tests.Host;

/// <summary>
/// The verbs through System.CommandLine (Cdp.Host/Cli/CdpCommandLine): --help on the root and on each verb, an unknown
/// option refused with exit code 1, and settings overrides still reaching the configuration. Runs the built host.
/// </summary>
public sealed class CliHelpTests
{
    [Fact]
    public async Task Root_help_lists_every_verb_and_exits_0()
    {
        using var folder = new TempFolder();
        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, "--help");

        code.Should().Be(0, output);
        foreach (var verb in new[] { "run", "check-config", "import", "backup", "restore", "reprocess", "unmerge", "identity", "match", "syncs", "migrate", "tracking-plan" })
            output.Should().MatchRegex($@"(?m)^\s+{verb}\b", $"the root help lists {verb}");
        output.Should().Contain("--Cdp:Section:Key=value");
    }

    [Theory]
    [InlineData("import", "<file.csv>", "--source <name>", "--map <mapping>", "--event <name>", "--delimiter <char>", "[default: ,]", "--encoding <name>", "--server <url>", "--key <admin key>")]
    [InlineData("backup", "<folder>", "--server <url>", "--key <admin key>")]
    [InlineData("restore", "<folder>")]
    [InlineData("unmerge", "<mergeId>")]
    [InlineData("reprocess", "Rebuild the identity graph")]
    [InlineData("check-config", "Validate the settings")]
    [InlineData("identity dry-run", "<proposed.json>")]
    [InlineData("match run", "--full", "--retrain")]
    [InlineData("syncs", "list", "runs", "dry-run", "resync", "--server <url>")]
    [InlineData("syncs runs", "<sync>", "--limit <n>", "[default: 20]", "--server <url>", "--key <admin key>")]
    [InlineData("syncs run", "<sync>", "--allow-mass-removal")]
    [InlineData("syncs dry-run", "<sync>", "--full")]
    [InlineData("syncs resync", "<sync>", "--allow-mass-removal")]
    [InlineData("migrate", "--dry-run", "PostgreSQL schema")]
    [InlineData("tracking-plan infer", "--source <name>", "--since <age>", "[default: 30d]", "--out <file>", "near-duplicate")]
    public async Task Help_of_a_verb_describes_its_arguments_and_options(string verb, params string[] expected)
    {
        using var folder = new TempFolder();
        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, [.. verb.Split(' '), "--help"]);

        code.Should().Be(0, output);
        output.Should().Contain("Description:").And.Contain($"Cdp.Host {verb}");
        foreach (var text in expected) output.Should().Contain(text);
    }

    [Fact]
    public async Task Match_evaluate_help_is_its_own_usage_with_every_option()
    {
        using var folder = new TempFolder();
        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, "match", "evaluate", "--help");

        code.Should().Be(0, output);
        output.Should().Contain("usage: cdp match evaluate").And.Contain("--truth-from-rec-id").And.Contain("--clusters-out");
    }

    [Theory]
    [InlineData("--frobnicate", "import", "data.csv", "--frobnicate")]
    [InlineData("--fast", "match", "run", "--fast")]
    [InlineData("--nope", "reprocess", "--nope")]
    [InlineData("--all", "syncs", "list", "--all")]
    [InlineData("extra", "unmerge", "m1", "extra")]
    public async Task An_unknown_option_of_a_verb_exits_1_naming_it(string unknown, params string[] args)
    {
        using var folder = new TempFolder();
        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, [.. args, $"--Cdp:Storage:Path={folder.File("cdp.db")}"]);

        code.Should().Be(1, output);
        output.Should().Contain($"'{unknown}'").And.Contain("--help");
        File.Exists(folder.File("cdp.db")).Should().BeFalse("the verb did not run");
    }

    [Fact]
    public async Task An_unknown_verb_exits_1_listing_the_verbs()
    {
        using var folder = new TempFolder();
        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, "imprt", "data.csv");

        code.Should().Be(1, output);
        output.Should().Contain("unknown verb 'imprt'").And.Contain("check-config");
    }

    [Theory]
    [InlineData("--Cdp:Sources:web:WriteKey=short")]
    [InlineData("--Cdp:Sources:web:WriteKey", "short")]
    public async Task A_settings_override_of_a_verb_reaches_the_configuration(params string[] setting)
    {
        using var folder = new TempFolder();
        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, ["check-config", $"--Cdp:Storage:Path={folder.File("cdp.db")}", .. setting]);

        code.Should().Be(2, output);
        output.Should().Contain("Cdp:Sources:web:WriteKey: must be at least 8 characters");
    }

    [Fact]
    public async Task A_settings_override_before_a_verbs_argument_is_not_taken_for_it()
    {
        using var folder = new TempFolder();
        var db = folder.File("elsewhere.db");
        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, "unmerge", "--Cdp:Storage:Path", db, "no-such-merge");

        code.Should().Be(3, output);
        output.Should().Contain("no merge record 'no-such-merge'");
        File.Exists(db).Should().BeTrue("the verb opened the database the override named");
    }

    [Fact]
    public async Task Without_a_verb_a_verbs_name_as_a_settings_value_stays_a_value_for_the_server()
    {
        using var folder = new TempFolder();
        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, $"--Cdp:Storage:Path={folder.File("cdp.db")}", "--Cdp:Sources:web:WriteKey", "import");

        code.Should().Be(2, output);
        output.Should().Contain("Cdp:Sources:web:WriteKey: must be at least 8 characters", "'import' is the key the server validated, not the import verb");
    }
}
