using System.Diagnostics;
using Cdp.Modules.Matching.ProfileMatching;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using static Cdp.Tests.Matching.ProfileMatching.MatchingHost;

namespace Cdp.Tests.Matching.ProfileMatching;

public sealed class IncrementalRunTests
{
    [Fact]
    public async Task An_incremental_run_compares_only_the_profiles_changed_since_the_last_run_against_all_profiles()
    {
        using var host = Start(new Dictionary<string, string?> { ["Cdp:Storage:Provider"] = StorageProviders.LiteDb }); // it reads LiteDB's journal documents
        await host.Seed(Mary1, Mary2, Ann, Bob);
        var journal = host.Service<CdpDatabase>().Collection(Cdp.Modules.Matching.ProfileMatching.LiteDb.LiteMatchingStore.JournalCollection);
        journal.Count().Should().Be(1, "batches add their changed profiles to the newest journal document");
        var admin = host.AdminClient();
        var first = await admin.Run();
        journal.Count().Should().Be(1, "the run deleted what it read, leaving the seal for later batches");
        first.Int("profilesCompared").Should().Be(4);
        first.GetProperty("candidatePairs").GetInt64().Should().Be(2);

        await host.Seed(Identify("ann", """{"plan":"gold"}"""));
        var second = await admin.Run();

        second.Int("profiles").Should().Be(4);
        second.Int("profilesCompared").Should().Be(1, "only Ann changed");
        second.GetProperty("candidatePairs").GetInt64().Should().Be(1, "Ann against the index: Bob Lee, not the Mary pair");
        second.Int("alreadyQueued").Should().Be(0);
        var third = await admin.Run();
        third.Int("profilesCompared").Should().Be(0);
        third.GetProperty("candidatePairs").GetInt64().Should().Be(0);
        var full = await admin.Run(full: true);
        full.Int("profilesCompared").Should().Be(4);
        full.Int("alreadyQueued").Should().Be(1, "the Mary pair is queued once");
    }

    [Fact]
    public async Task Without_a_stored_model_a_run_with_too_little_data_routes_nothing_and_keeps_the_changes_for_later()
    {
        using var host = new CdpHost(Settings());
        await host.Seed(Jon, John);
        var admin = host.AdminClient();

        var run = await admin.Run();

        run.GetProperty("modelTrained").GetBoolean().Should().BeFalse();
        run.GetProperty("note").GetString().Should().Contain("too little data");
        run.Int("autoMerged").Should().Be(0);
        SeedModel(host);
        (await admin.Run()).Int("autoMerged").Should().Be(1, "the changes were kept for the next run");
    }

    [Fact]
    public async Task Without_a_stored_model_a_run_trains_one_on_the_profiles_and_later_runs_reuse_it_until_retrain()
    {
        using var host = new CdpHost(Settings());
        string[] first = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mason", "Amelia", "Ethan", "Harper"];
        string[] last = ["Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson"];
        var people = new List<string>();
        for (var i = 0; i < 200; i++)
        {
            var (f, l) = (first[i % first.Length], last[i * 7 % last.Length]);
            var dob = $"19{60 + i % 40}-{1 + i % 12:00}-{1 + i * 3 % 28:00}";
            people.Add(Identify($"person-{i}", $$$"""{"firstName":"{{{f}}}","lastName":"{{{l}}}","birthday":"{{{dob}}}","address":{"postalCode":"PC{{{i % 50}}}","city":"Town{{{i % 9}}}"}}"""));
            if (i % 3 == 0) // a third of them typed again elsewhere, with a typo in the first name
                people.Add(Identify($"again-{i}", $$$"""{"firstName":"{{{f[..^1] + "y"}}}","lastName":"{{{l}}}","birthday":"{{{dob}}}","address":{"postalCode":"PC{{{i % 50}}}","city":"Town{{{i % 9}}}"}}"""));
        }
        await host.TrackingClient().SendBatch(people);
        await host.Processed();
        var admin = host.AdminClient();

        var trained = await admin.Run();

        trained.GetProperty("modelTrained").GetBoolean().Should().BeTrue(trained.GetRawText());
        trained.Int("autoMerged").Should().Be(67, "the 67 people typed twice (and no one else) are merged by the learnt model: " + trained.GetRawText());
        var prior = trained.GetProperty("prior").GetDouble();
        prior.Should().BeInRange(1e-6, 0.5);
        var plan = host.Service<Cdp.Modules.Matching.Engine.MatchingEngine>().Plan;
        host.Service<MatchingStore>().LoadModel(plan).Should().NotBeNull("the model is stored so that runs score alike");
        var reused = await admin.Run(full: true);
        reused.GetProperty("modelTrained").GetBoolean().Should().BeFalse();
        reused.GetProperty("prior").GetDouble().Should().Be(prior);
        var retrained = await admin.PostAsync("/api/identity/matching/run?full=true&retrain=true", null);
        (await retrained.Content.ReadAsStringAsync()).Should().Contain("\"modelTrained\":true");
    }

    public static TheoryData<string> Providers => CdpHost.Providers;

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task The_match_run_verb_merges_on_a_database_file_and_the_unmerge_verb_undoes_it(string provider)
    {
        using var folder = new TempFolder();
        var storage = new Dictionary<string, string?> { ["Cdp:Storage:Provider"] = provider };
        if (provider == Cdp.Modules.Shared.Storage.StorageProviders.PostgreSql)
        {
            storage["Cdp:Storage:ConnectionString"] = await PostgresServer.CreateDatabaseAsync();
        }
        string[] storageArgs = [.. storage.Select(s => $"--{s.Key}={s.Value}")];
        using (var host = Start(storage, folder))
            await host.Seed(Jon, John, Mary1, Mary2);

        var (code, output) = await Cli(folder, ["match", "run", "--full", .. storageArgs]);
        code.Should().Be(0, output);
        output.Should().Contain("auto-merged: 1").And.Contain("queued for review: 1").And.Contain("lastName+birthday");
        output.Should().Contain("  warning: no profile has the field 'phone' (used by comparison phone, blocking rule phone)", "nobody here has a phone");

        string mergeId;
        using (var host = new CdpHost(Settings(storage), folder))
        {
            var admin = host.AdminClient();
            var jon = await admin.ProfileId("anonymous_id:jon");
            (await admin.ProfileId("anonymous_id:john")).Should().Be(jon);
            mergeId = (await admin.Profile(jon, "merges"))!.Value.GetProperty("merges").EnumerateArray().Single().GetProperty("id").GetString()!;
            host.Service<ReviewQueue>().WithStatus(ReviewStatus.Pending).Should().ContainSingle();
        }

        (code, output) = await Cli(folder, ["unmerge", mergeId, .. storageArgs]);
        code.Should().Be(0, output);
        (code, output) = await Cli(folder, ["match", "run", .. storageArgs]);
        code.Should().Be(0, output);
        output.Should().Contain("auto-merged: 0");
        using (var host = new CdpHost(Settings(storage), folder))
        {
            var admin = host.AdminClient();
            (await admin.ProfileId("anonymous_id:john")).Should().NotBe(await admin.ProfileId("anonymous_id:jon"));
        }
    }

    private static async Task<(int Code, string Output)> Cli(TempFolder folder, params string[] verb)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(CdpProcess.HostDll);
        foreach (var v in verb) psi.ArgumentList.Add(v);
        foreach (var a in CommandLineSettings().Concat([$"--Cdp:Storage:Path={folder.File("cdp.db")}", "--Logging:LogLevel:Default=Warning",
                     "--Logging:Console:FormatterName=simple", "--Cdp:Scheduling:ServerEnabled=false"]))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        return (p.ExitCode, await stdout + await stderr);
    }
}
