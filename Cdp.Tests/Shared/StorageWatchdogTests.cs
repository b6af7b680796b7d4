using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using FluentAssertions;
using LiteDB;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Cdp.Tests.Shared;

public sealed class StorageWatchdogTests
{
    /// <summary>LiteDB only, whatever CDP_TEST_PROVIDER says: about LiteDB's engine closing under the host.</summary>
    private const string LiteDbOnlyBecause = "about LiteDB's engine closing under the host";

    [Fact]
    public async Task The_host_stops_with_exit_code_4_when_the_LiteDB_engine_has_closed_under_it()
    {
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause);
        _ = host.ServerAddress; // started
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var watchdog = host.Services.GetRequiredService<StorageWatchdog>();

        // what LiteDB does after a failed internal check: it closes its engine, and every later call throws
        host.Services.GetRequiredService<CdpDatabase>().Database.Dispose();

        var stopping = new TaskCompletionSource();
        lifetime.ApplicationStopping.Register(() => stopping.TrySetResult());
        await stopping.Task.WaitAsync(TimeSpan.FromSeconds(30));
        watchdog.ExitCode.Should().Be(StorageWatchdog.FailureExitCode);
    }

    [Fact]
    public void Only_a_closed_engine_counts_as_fatal()
    {
        StorageWatchdog.EngineClosed(new LiteException(LiteException.INVALID_DATAFILE_STATE, "LiteDB ENSURE: share counter must be > 0 in Release()")).Should().BeTrue();
        StorageWatchdog.EngineClosed(new InvalidOperationException("wrapped", new LiteException(LiteException.ENGINE_DISPOSED, "disposed"))).Should().BeTrue();
        StorageWatchdog.EngineClosed(new LiteException(LiteException.INDEX_DUPLICATE_KEY, "duplicate key")).Should().BeFalse();
        StorageWatchdog.EngineClosed(new IOException("disk full")).Should().BeFalse();
    }

    [Fact]
    public async Task A_host_that_stops_normally_keeps_exit_code_0()
    {
        var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause);
        _ = host.ServerAddress;
        var watchdog = host.Services.GetRequiredService<StorageWatchdog>();
        await Task.Delay(200);
        host.Dispose(); // closes the database while stopping: not a failure
        watchdog.ExitCode.Should().Be(0);
    }
}
