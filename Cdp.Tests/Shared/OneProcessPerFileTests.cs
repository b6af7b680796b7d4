using System.Net;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Collection;
using Cdp.Tests.Support;

namespace Cdp.Tests.Shared;

/// <summary>One Cdp per database file: a second one (host, server or verb) stops at once, naming the file and the holder.</summary>
public sealed class OneProcessPerFileTests
{
    /// <summary>LiteDB only, whatever CDP_TEST_PROVIDER says: about LiteDB's file lock (PostgreSQL's instance lock: StorageSettingsTests).</summary>
    private const string LiteDbOnlyBecause = "about LiteDB's file lock (PostgreSQL's instance lock: StorageSettingsTests)";

    private static async Task Track(HttpClient tracking, string userId)
    {
        var response = await tracking.PostAsync("/v1/track", TrackingApiTests.Json($$"""{"userId":"{{userId}}","event":"E"}"""));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private static DatabaseInUseException? InUse(Exception? ex) => ex switch
    {
        null => null,
        DatabaseInUseException d => d,
        AggregateException a => a.InnerExceptions.Select(InUse).FirstOrDefault(e => e is not null),
        _ => InUse(ex.InnerException),
    };

    [Fact]
    public async Task A_second_host_on_the_same_file_is_refused_and_the_first_keeps_working()
    {
        using var folder = new TempFolder();
        using (var first = CdpHost.LiteDbOnly(LiteDbOnlyBecause, folder: folder))
        {
            await Track(first.TrackingClient(), "u1");

            // built directly: under WebApplicationFactory, Program's own catch (exit code 2) would hide the refusal
            var start = async () =>
            {
                await using var second = Cdp.Host.CdpApp.Build(Cdp.Host.CdpApp.CreateBuilder([
                    "--environment=Testing", "--urls=http://127.0.0.1:0", $"--Cdp:Storage:Path={folder.File("cdp.db")}",
                    $"--Cdp:Admin:ApiKeys:ops:Key={CdpHost.AdminKey}", "--Cdp:Admin:ApiKeys:ops:Role=Admin"]));
                await second.StartAsync();
            };

            var refused = InUse((await start.Should().ThrowAsync<Exception>()).Which);
            refused.Should().NotBeNull("the second host fails on the lock, not on a corrupted file");
            refused!.Message.Should().Be($"{folder.File("cdp.db")} is in use by another Cdp process (pid {Environment.ProcessId})");
            File.Exists(folder.File("cdp.db.lock")).Should().BeTrue();
            await Track(first.TrackingClient(), "u2");
        }

        using var next = CdpHost.LiteDbOnly(LiteDbOnlyBecause, folder: folder); // the lock went with the first host
        await Track(next.TrackingClient(), "u3");
    }

    [Theory]
    [InlineData("reprocess")]
    [InlineData("run")]
    public async Task A_verb_or_a_server_on_the_file_of_a_running_host_stops_at_once_with_exit_code_2(string verb)
    {
        using var folder = new TempFolder();
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause, folder: folder);
        await Track(host.TrackingClient(), "u1");
        var dbPath = folder.File("cdp.db");

        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, verb, $"--Cdp:Storage:Path={dbPath}", "--urls=http://127.0.0.1:0",
            $"--Cdp:Admin:ApiKeys:ops:Key={CdpHost.AdminKey}", "--Cdp:Admin:ApiKeys:ops:Role=Admin");

        code.Should().Be(2, output);
        output.Should().Contain($"{dbPath} is in use by another Cdp process (pid {Environment.ProcessId})");
        await Track(host.TrackingClient(), "u2");
    }

    [Fact]
    public void The_lock_names_the_holding_process_and_goes_with_it()
    {
        using var folder = new TempFolder();
        var file = folder.File("cdp.db");
        DatabaseFileLock.IsHeld(file, out _).Should().BeFalse();
        using (DatabaseFileLock.Acquire(file))
        {
            DatabaseFileLock.IsHeld(file, out var pid).Should().BeTrue();
            pid.Should().Be(Environment.ProcessId);
        }
        DatabaseFileLock.IsHeld(file, out _).Should().BeFalse();
        using var again = DatabaseFileLock.Acquire(file);
    }
}
