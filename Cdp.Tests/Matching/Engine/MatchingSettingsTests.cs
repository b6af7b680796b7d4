using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Matching.Engine;
using Cdp.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Cdp.Modules.Matching.Contracts;
using static Cdp.Tests.Matching.Engine.MatchingTestSettings;

namespace Cdp.Tests.Matching.Engine;

public sealed class MatchingSettingsTests
{
    [Fact]
    public void Invalid_matching_settings_stop_the_start_with_messages_naming_each_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Cdp:Identity:Matching:Comparisons:0:Field"] = "surname",
            ["Cdp:Identity:Matching:Comparisons:0:Levels:0:Kind"] = "Exact",
            ["Cdp:Identity:Matching:Comparisons:0:Levels:1:Kind"] = "JaroWinkler",
            ["Cdp:Identity:Matching:Comparisons:0:Levels:1:Threshold"] = "1.5",
            ["Cdp:Identity:Matching:Comparisons:0:Levels:2:Kind"] = "Else",
            ["Cdp:Identity:Matching:Comparisons:1:Field"] = "dob",
            ["Cdp:Identity:Matching:Comparisons:1:Levels:0:Kind"] = "Fuzzy",
            ["Cdp:Identity:Matching:Blocking:0:Keys:0"] = "surname:x",
            ["Cdp:Identity:Matching:Thresholds:AutoMerge"] = "0.9",
            ["Cdp:Identity:Matching:Thresholds:Review"] = "0.95",
        }).Build();
        var services = new ServiceCollection();
        MatchingRegistration.Add(services, configuration);
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<MatchingOptions>>().Value;

        var failures = act.Should().Throw<OptionsValidationException>().Which.Failures.ToList();
        failures.Should().Contain(f => f.StartsWith("Cdp:Identity:Matching:Comparisons:0:Levels:1:Threshold:", StringComparison.Ordinal));
        failures.Should().Contain(f => f.StartsWith("Cdp:Identity:Matching:Comparisons:1:Levels:0:Kind:", StringComparison.Ordinal) && f.Contains("'Fuzzy'"));
        failures.Should().Contain(f => f.StartsWith("Cdp:Identity:Matching:Comparisons:1:Levels:", StringComparison.Ordinal) && f.Contains("Else"));
        failures.Should().Contain(f => f.StartsWith("Cdp:Identity:Matching:Blocking:0:Keys:0:", StringComparison.Ordinal));
        failures.Should().Contain(f => f.StartsWith("Cdp:Identity:Matching:Thresholds:Review:", StringComparison.Ordinal));
    }

    [Fact]
    public void The_default_appsettings_matching_section_is_valid_and_compiles()
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json")).Build();
        var services = new ServiceCollection();
        MatchingRegistration.Add(services, configuration);
        using var provider = services.BuildServiceProvider();

        var engine = provider.GetRequiredService<MatchingEngine>();

        engine.Plan.Comparisons.Should().NotBeEmpty();
        engine.Plan.BlockingRules.Should().NotBeEmpty();
    }

    [Fact]
    public void Match_evaluate_prints_pairwise_and_clustered_figures_for_a_FEBRL_file()
    {
        var output = new StringWriter();

        var exit = MatchEvaluationCommand.Run(
            [TestData("linkage", "febrl_dataset1.csv"), "--id", "rec_id", "--truth-from-rec-id", "--settings", TestData("matching", "febrl.json")], output);

        exit.Should().Be(0, output.ToString());
        var text = output.ToString();
        text.Should().Contain("1,000 records").And.Contain("blocking recall 1.0000").And.Contain("time:");
        text.Should().MatchRegex(@"AutoMerge p>=0.99 clustered\s+500\s+1.0000\s+1.0000\s+1.0000");
        text.Should().MatchRegex(@"AutoMerge p>=0.99 pairwise\s+500\s+1.0000\s+1.0000\s+1.0000");
    }

    [Fact]
    public void Match_evaluate_reads_the_truth_from_a_column()
    {
        var output = new StringWriter();

        var exit = MatchEvaluationCommand.Run(
            [TestData("linkage", "fake_1000.csv"), "--id", "unique_id", "--truth", "cluster", "--settings", TestData("matching", "fake_1000.json"), "--explain", "2"], output);

        exit.Should().Be(0, output.ToString());
        output.ToString().Should().Contain("1,000 records").And.Contain("Review p>=0.8 clustered").And.Contain("lowest-scoring 2 pairs");
    }

    [Fact]
    public void Match_evaluate_exits_2_naming_a_comparison_or_blocking_field_that_is_no_column_and_ignores_case_like_the_import()
    {
        using var folder = new TempFolder();
        var settings = folder.File("fields.json");
        const string Levels = """[ { "Kind": "Exact" }, { "Kind": "Else" } ]""";
        File.WriteAllText(settings, $$"""{ "Comparisons": [ { "Field": "First_Name", "Levels": {{Levels}} }, { "Field": "SURNAME", "Levels": {{Levels}} } ], "Blocking": [ { "Keys": [ "Surname" ] } ] }""");
        var output = new StringWriter();
        MatchEvaluationCommand.Run([TestData("linkage", "fake_1000.csv"), "--id", "unique_id", "--truth", "cluster", "--settings", settings], output).Should().Be(0, output.ToString());

        File.WriteAllText(settings, $$"""{ "Comparisons": [ { "Field": "first_nme", "Levels": {{Levels}} } ], "Blocking": [ { "Keys": [ "surname" ] } ] }""");
        output = new StringWriter();
        MatchEvaluationCommand.Run([TestData("linkage", "fake_1000.csv"), "--id", "unique_id", "--truth", "cluster", "--settings", settings], output).Should().Be(2);
        output.ToString().Should().Contain("field 'first_nme' is not a column").And.Contain("first_name");

        File.WriteAllText(settings, $$"""{ "Comparisons": [ { "Field": "surname", "Levels": {{Levels}} } ], "Blocking": [ { "Keys": [ "postcode" ] } ] }""");
        output = new StringWriter();
        MatchEvaluationCommand.Run([TestData("linkage", "fake_1000.csv"), "--id", "unique_id", "--truth", "cluster", "--settings", settings], output).Should().Be(2);
        output.ToString().Should().Contain("blocking rule 'postcode': field 'postcode' is not a column");
    }

    [Fact]
    public void Match_evaluate_refuses_missing_arguments_and_invalid_settings()
    {
        var output = new StringWriter();
        MatchEvaluationCommand.Run([TestData("linkage", "fake_1000.csv"), "--truth", "cluster"], output).Should().Be(1);
        output.ToString().Should().Contain("missing --id").And.Contain("usage:");

        using var folder = new TempFolder();
        var settings = folder.File("bad.json");
        File.WriteAllText(settings, """{ "Comparisons": [ { "Field": "surname", "Levels": [ { "Kind": "JaroWinkler", "Threshold": 2 }, { "Kind": "Else" } ] } ], "Blocking": [ { "Keys": [ "surname" ] } ] }""");
        output = new StringWriter();
        MatchEvaluationCommand.Run([TestData("linkage", "fake_1000.csv"), "--id", "unique_id", "--truth", "cluster", "--settings", settings], output).Should().Be(2);
        output.ToString().Should().Contain("Comparisons:0:Levels:0:Threshold");

        output = new StringWriter();
        MatchEvaluationCommand.Run([TestData("linkage", "fake_1000.csv"), "--id", "nope", "--truth", "cluster", "--settings", TestData("matching", "fake_1000.json")], output).Should().Be(1);
        output.ToString().Should().Contain("no column 'nope'");
    }
}
