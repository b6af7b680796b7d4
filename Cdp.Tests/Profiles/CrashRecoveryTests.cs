using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Cdp.Tests.Support;
using CsCheck;
using LiteDB;

namespace Cdp.Tests.Profiles;

/// <summary>The real executable, killed with SIGKILL while it ingests and processes, restarted: same state as a clean rebuild.</summary>
public sealed class CrashRecoveryTests
{
    private const string WriteKey = "crash-test-write-key";
    private const string AdminKey = "crash-test-admin-key-0123456789";

    [Fact]
    public async Task Killing_the_process_mid_processing_and_restarting_gives_the_state_of_a_run_without_the_crash()
    {
        using var folder = new TempFolder();
        var dbPath = folder.File("cdp.db");
        var port = CdpProcess.FreePort();
        var acked = await KillMidProcessing(dbPath, port, []);

        using (var second = Start(dbPath, port))
        {
            var (_, admin) = await Clients(port);
            (await AdminReads.CaughtUp(admin)).Should().BeGreaterThanOrEqualTo(acked, "no acknowledged event is lost");
            second.Kill(entireProcessTree: true);
            await second.WaitForExitAsync();
        }
        var afterCrash = Snapshot(dbPath);

        (await Verb(dbPath, "reprocess")).Should().Be(0);
        Snapshot(dbPath).Should().Be(afterCrash);
    }

    public static TheoryData<string> Providers => CdpHost.Providers;

    /// <summary>
    /// The same crash on either provider, judged through the admin API: after the restart has caught up, a reprocess from
    /// the log rebuilds exactly the profiles the restart left (no event lost, none applied twice).
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Killed_mid_processing_a_restart_catches_up_to_the_profiles_a_reprocess_rebuilds(string provider)
    {
        using var folder = new TempFolder();
        var dbPath = folder.File("cdp.db");
        string[] settings = provider == Cdp.Modules.Shared.Storage.StorageProviders.PostgreSql
            ? ["--Cdp:Storage:Provider=PostgreSql", "--Cdp:Storage:ConnectionString=" + await PostgresServer.CreateDatabaseAsync()]
            : [];
        var port = CdpProcess.FreePort();
        var acked = await KillMidProcessing(dbPath, port, settings);

        using var second = Start(dbPath, port, settings);
        var (_, again) = await Clients(port);
        var head = await AdminReads.CaughtUp(again);
        head.Should().BeGreaterThanOrEqualTo(acked, "no acknowledged event is lost");
        var afterCrash = await AdminReads.ProfilesOf(again);
        afterCrash.Should().NotBeEmpty();

        (await again.PostAsync("/api/profiles/reprocess", null)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await AdminReads.CaughtUp(again);
        (await AdminReads.ProfilesOf(again)).Should().Be(afterCrash, "a rebuild from the log gives what the restart caught up to");
        second.Kill(entireProcessTree: true);
        await second.WaitForExitAsync();
        if (provider == Cdp.Modules.Shared.Storage.StorageProviders.PostgreSql) File.Exists(dbPath).Should().BeFalse();
    }

    /// <summary>
    /// Sends generated events in batches of 1,000 (the processor falls behind after each) and SIGKILLs the process
    /// while acknowledged events wait to be processed; returns how many events were acknowledged. The sender goes on (up to
    /// 24,000 events) until the kill, so a processor that kept up with the first batches still gets caught behind.
    /// </summary>
    private static async Task<long> KillMidProcessing(string dbPath, int port, IEnumerable<string> settings)
    {
        var events = RebuildPropertyTests.Event.Array[24_000].Generate(new PCG(42, 7), null, out _);
        long acked = 0;
        long killedAtCheckpoint, killedAtHead;
        using (var first = Start(dbPath, port, settings))
        {
            var (tracking, admin) = await Clients(port);
            var sending = Task.Run(async () =>
            {
                foreach (var chunk in events.Chunk(1_000)) // big batches: the processor is behind for a while after each
                {
                    var body = "{\"batch\":[" + string.Join(",", chunk) + "]}";
                    var r = await tracking.PostAsync("/v1/batch", new StringContent(body, Encoding.UTF8, "application/json"));
                    if (!r.IsSuccessStatusCode) return;
                    Interlocked.Add(ref acked, chunk.Length);
                }
            });
            JsonElement status;
            do
            {
                status = await admin.GetFromJsonAsync<JsonElement>("/api/profiles/processor");
            } while (!(status.GetProperty("checkpoint").GetInt64() >= 1_000 && status.GetProperty("checkpoint").GetInt64() < status.GetProperty("logHead").GetInt64())
                     && !sending.IsCompleted);
            first.Kill(entireProcessTree: true); // SIGKILL
            await first.WaitForExitAsync();
            killedAtCheckpoint = status.GetProperty("checkpoint").GetInt64();
            killedAtHead = status.GetProperty("logHead").GetInt64();
            try { await sending; } catch (HttpRequestException) { } // in-flight requests die with the process
        }
        killedAtCheckpoint.Should().BeLessThan(killedAtHead, "the kill must land while events wait to be processed");
        return Interlocked.Read(ref acked);
    }

    [Fact]
    public async Task The_unmerge_and_dry_run_verbs_work_on_the_data_file()
    {
        using var folder = new TempFolder();
        var dbPath = folder.File("cdp.db");
        var port = CdpProcess.FreePort();
        using (var server = Start(dbPath, port))
        {
            var (tracking, admin) = await Clients(port);
            var events = RebuildPropertyTests.Event.Array[600].Generate(new PCG(5, 3), null, out _);
            var r = await tracking.PostAsync("/v1/batch", new StringContent("{\"batch\":[" + string.Join(",", events) + "]}", Encoding.UTF8, "application/json"));
            r.EnsureSuccessStatusCode();
            JsonElement status;
            do
            {
                await Task.Delay(50);
                status = await admin.GetFromJsonAsync<JsonElement>("/api/profiles/processor");
            } while (status.GetProperty("checkpoint").GetInt64() < status.GetProperty("logHead").GetInt64());
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
        string mergeId;
        using (var db = new LiteDatabase(new ConnectionString { Filename = dbPath, Connection = ConnectionType.Direct }))
            mergeId = db.GetCollection("identity_merges").FindAll().First()["_id"].AsString;

        (await Verb(dbPath, "unmerge", mergeId)).Should().Be(0);
        var afterUnmerge = Snapshot(dbPath);
        afterUnmerge.Should().NotContain($"{mergeId},", "the undone merge record is gone");
        (await Verb(dbPath, "unmerge", "m0-0")).Should().Be(3, "an unknown merge id is an error");

        var proposal = folder.File("proposed.json");
        await File.WriteAllTextAsync(proposal, """{"Cdp":{"Identity":{"Types":{"user_id":{"Priority":1,"Limit":3},"anonymous_id":{"Priority":5}}}}}""");
        (await Verb(dbPath, "identity", "dry-run", proposal)).Should().Be(0);
        Snapshot(dbPath).Should().Be(afterUnmerge, "a dry run changes nothing");

        (await Verb(dbPath, "reprocess")).Should().Be(0);
        Snapshot(dbPath).Should().Be(afterUnmerge, "a reprocess keeps the unmerge decision and gives the same state");
    }

    private static async Task<int> Verb(string dbPath, params string[] verb)
    {
        using var p = Start(dbPath, null, verb);
        return await p.WaitForExitAsync(TimeSpan.FromSeconds(90));
    }

    private static string Snapshot(string dbPath)
    {
        using var db = new LiteDatabase(new ConnectionString { Filename = dbPath, Connection = ConnectionType.Direct });
        return ProjectionSnapshot.Take(db);
    }


    private static string HostDll()
    {
        // the test output holds Cdp.Host.dll beside its runtimeconfig (the Exe project is referenced)
        var local = CdpProcess.HostDll;
        File.Exists(Path.ChangeExtension(local, ".runtimeconfig.json")).Should().BeTrue("Cdp.Host.runtimeconfig.json must sit beside Cdp.Host.dll");
        return local;
    }

    private static Process Start(string dbPath, int? port, params string[] verb) => Start(dbPath, port, [], verb);

    /// <param name="settings">More settings, e.g. the storage provider's.</param>
    private static Process Start(string dbPath, int? port, IEnumerable<string> settings, params string[] verb)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(HostDll());
        foreach (var v in verb) psi.ArgumentList.Add(v);
        foreach (var setting in settings) psi.ArgumentList.Add(setting);
        if (port is not null) { psi.ArgumentList.Add("--urls"); psi.ArgumentList.Add($"http://127.0.0.1:{port}"); }
        foreach (var a in new[]
        {
            $"--Cdp:Storage:Path={dbPath}", "--Cdp:Profiles:BatchSize=250", "--Cdp:Profiles:CatchUpBatchSize=250", "--Logging:Console:FormatterName=simple",
            "--Logging:LogLevel:Default=Warning", "--Cdp:Sources:website:WriteKey=" + WriteKey,
            "--Cdp:Admin:ApiKeys:dev-admin:Key=" + AdminKey, "--Cdp:Identity:MaxProfilesPerIdentifier=5",
        }) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static async Task<(HttpClient Tracking, HttpClient Admin)> Clients(int port)
    {
        var tracking = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        tracking.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(WriteKey + ":")));
        var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if ((await admin.GetAsync("/health/live")).StatusCode == HttpStatusCode.OK) return (tracking, admin);
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline) { }
            await Task.Delay(100);
        }
    }
}

internal static class ProcessExtensions
{
    public static async Task<int> WaitForExitAsync(this Process p, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await p.WaitForExitAsync(cts.Token);
        return p.ExitCode;
    }
}
