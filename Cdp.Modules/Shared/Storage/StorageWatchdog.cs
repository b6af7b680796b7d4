using LiteDB;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// Stops the host when LiteDB's engine has closed itself after an internal error (a failed ENSURE or an I/O error; the
/// page-cache race of LiteDB 5.0.21, upstream issue 2817, did it until <see cref="SerialEngine"/> closed that race). From then on the engine refuses
/// every call, so a process that kept running would answer errors and process nothing. The host stops with
/// <see cref="FailureExitCode"/>, and the service manager restarts it; committed data is in the database files.
/// It checks every few seconds by beginning and rolling back an empty transaction (LiteDB validates its state there).
/// An engine closed by an I/O error (a full disk) is not a reason to stop: <see cref="SerialEngine"/> reopens it. While
/// writes to cdp.db fail (<see cref="StorageHealth"/>), the watchdog also tries a tiny write every few seconds, so that
/// readiness turns healthy again when space returns even if no request or event comes to write.
/// </summary>
public sealed class StorageWatchdog(CdpDatabase db, IHostApplicationLifetime lifetime, ILogger<StorageWatchdog> log, StorageHealth? health = null)
    : BackgroundService
{
    public const int FailureExitCode = 4;

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>0, or <see cref="FailureExitCode"/> once the watchdog stopped the host.</summary>
    public int ExitCode { get; private set; }

    /// <summary>LiteDB closed its engine (every later call fails the same way).</summary>
    public static bool EngineClosed(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
            if (e is LiteException { ErrorCode: LiteException.INVALID_DATAFILE_STATE or LiteException.ENGINE_DISPOSED }) return true;
        return false;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                // LiteDB checks its engine state when a transaction begins; an empty one reads no page
                if (db.Database.BeginTrans()) db.Database.Rollback();
                if (health is not null && health.Failing.Any(f => f.Path == db.FilePath)) ProbeWrite();
            }
            catch (Exception ex) when (EngineClosed(ex) && !stoppingToken.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested)
            {
                log.LogCritical(ex, "The LiteDB engine of {Path} closed itself after an internal error and refuses every call; stopping Cdp " +
                    "with exit code {Code} so that the service manager restarts it (committed data is safe)", db.FilePath, FailureExitCode);
                ExitCode = FailureExitCode;
                lifetime.StopApplication();
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogWarning("Storage check of {Path} failed: {Reason}", db.FilePath, StorageFailure.Describe(ex));
            }
        }
    }

    /// <summary>Rewrites the header's user version with its own value: one page, a real commit, nothing changes.</summary>
    private void ProbeWrite() => db.InTransaction(d => d.UserVersion = d.UserVersion);
}
