using Cdp.Modules.Shared.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cdp.Modules.Shared.Storage;

/// <summary>One database file whose last write failed and has not succeeded since.</summary>
public sealed record FailingStorageFile(string Path, string Reason, DateTimeOffset Since, long Failures);

/// <summary>
/// Whether Cdp's database files take writes: a file is failing from a failed commit (disk full, I/O error) until a commit
/// to it succeeds again. <see cref="SerialEngine"/> reports every commit of cdp.db and the jobs file here. Readiness
/// (<see cref="StorageHealthCheck"/>), /metrics and the log read it. A success costs one volatile read while nothing fails.
/// </summary>
public sealed class StorageHealth(ILogger<StorageHealth>? log = null)
{
    private readonly ILogger _log = log ?? (ILogger)NullLogger.Instance;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, FailingStorageFile> _failing = new(StringComparer.Ordinal);
    private int _failingCount;
    private long _writeFailures;
    private long _reopens;

    /// <summary>No file is failing.</summary>
    public bool Writable => Volatile.Read(ref _failingCount) == 0;

    /// <summary>Failed commits (and writes inside transactions) since start.</summary>
    public long WriteFailures => Interlocked.Read(ref _writeFailures);

    /// <summary>Times an engine was closed and opened again to drop the state a failed write left behind.</summary>
    public long Reopens => Interlocked.Read(ref _reopens);

    public IReadOnlyList<FailingStorageFile> Failing
    {
        get
        {
            lock (_lock) return [.. _failing.Values];
        }
    }

    public void WriteSucceeded(string path)
    {
        if (Volatile.Read(ref _failingCount) == 0) return;
        lock (_lock)
        {
            if (!_failing.Remove(path, out var was)) return;
            Volatile.Write(ref _failingCount, _failing.Count);
            _log.LogWarning("Writes to {Path} succeed again after {Failures} failed writes since {Since:O}; Cdp resumes ingest and processing",
                path, was.Failures, was.Since);
        }
    }

    public void WriteFailed(string path, Exception failure)
    {
        Interlocked.Increment(ref _writeFailures);
        var reason = StorageFailure.Describe(failure);
        lock (_lock)
        {
            if (_failing.TryGetValue(path, out var was))
            {
                _failing[path] = was with { Reason = reason, Failures = was.Failures + 1 };
                return;
            }
            _failing[path] = new FailingStorageFile(path, reason, DateTimeOffset.UtcNow, 1);
            Volatile.Write(ref _failingCount, _failing.Count);
        }
        // once per episode: the callers log each failed operation themselves
        _log.LogError(failure, "Writes to {Path} fail: {Reason}. Nothing partial is kept; ingest answers 503, the processor and jobs retry, " +
            "and everything resumes by itself once a write succeeds (free disk space)", path, reason);
    }

    public void Reopened(string path, Exception cause, Exception? openFailure)
    {
        Interlocked.Increment(ref _reopens);
        if (openFailure is null)
            _log.LogWarning("LiteDB engine of {Path} reopened after a failed write ({Reason}): the failed transaction is gone, committed data is kept",
                path, StorageFailure.Describe(cause));
        else
            _log.LogError(openFailure, "LiteDB engine of {Path} could not be reopened after a failed write: {Reason}; retrying at the next call",
                path, StorageFailure.Describe(openFailure));
    }
}

/// <summary>Ready only while every database file takes writes (see <see cref="StorageHealth"/>) and the disk has Cdp:Storage:MinFreeBytes free.</summary>
internal sealed class StorageHealthCheck(StorageHealth health, FreeSpace space) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (health.Writable && space.Low)
            return Task.FromResult(HealthCheckResult.Unhealthy($"free space on {space.Folder} is {space.FreeBytes} bytes, below Cdp:Storage:MinFreeBytes ({space.MinFreeBytes}): ingest answers 503"));
        if (health.Writable) return Task.FromResult(HealthCheckResult.Healthy("the database files take writes"));
        var failing = health.Failing;
        return Task.FromResult(HealthCheckResult.Unhealthy(string.Join("; ", failing.Select(f => $"writes to {f.Path} fail since {f.Since:O}: {f.Reason}")),
            data: failing.ToDictionary(f => f.Path, f => (object)f.Reason)));
    }
}

/// <summary>cdp_storage_writable, cdp_storage_write_failures_total, cdp_storage_reopens_total, cdp_storage_free_bytes.</summary>
internal sealed class StorageMetrics(StorageHealth health, FreeSpace space) : IMetricsSource
{
    public void Register(CdpMetrics m)
    {
        if (space.MinFreeBytes > 0)
            m.Gauge("cdp_storage_free_bytes", "Free bytes on the disk of cdp.db at the last reading (once a second; -1 unknown).", () => space.FreeBytes);
        m.Gauge("cdp_storage_writable", "1 while every database file takes writes, 0 from a failed commit (disk full, I/O error) until a commit succeeds again.", () => health.Writable ? 1 : 0);
        m.Counter("cdp_storage_write_failures_total", "Failed commits and writes to the database files since start.", () => health.WriteFailures);
        m.Counter("cdp_storage_reopens_total", "LiteDB engines closed and reopened to drop the state a failed write left behind.", () => health.Reopens);
    }
}
