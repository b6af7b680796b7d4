using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// Free space on the disk of cdp.db, read once a second off the request path (one statvfs), so that ingest can stop
/// before the disk is full (<see cref="StorageOptions.MinFreeBytes"/>): the processor, checkpoints and jobs keep the
/// room that is left, and the senders retry later. Reading <see cref="Low"/> is one volatile read.
/// </summary>
public sealed class FreeSpace : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly ILogger<FreeSpace> _log;
    private readonly string _folder;
    private readonly Timer? _timer;
    private volatile bool _low;
    private long _freeBytes = -1;

    public FreeSpace(IOptions<StorageOptions> options, ILogger<FreeSpace> log)
    {
        _log = log;
        MinFreeBytes = options.Value.MinFreeBytes;
        _folder = Path.GetDirectoryName(Path.GetFullPath(options.Value.Path)) ?? ".";
        if (MinFreeBytes <= 0) return;
        Refresh();
        _timer = new Timer(_ => Refresh(), null, Interval, Interval);
    }

    /// <summary>Cdp:Storage:MinFreeBytes (0: no check).</summary>
    public long MinFreeBytes { get; }

    /// <summary>Free bytes for this process's user at the last reading; -1 when unknown or not checked.</summary>
    public long FreeBytes => Interlocked.Read(ref _freeBytes);

    /// <summary>Less than <see cref="MinFreeBytes"/> free at the last reading.</summary>
    public bool Low => _low;

    public string Folder => _folder;

    private void Refresh()
    {
        long free;
        try
        {
            free = new DriveInfo(_folder).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            Interlocked.Exchange(ref _freeBytes, -1);
            _low = false; // unknown is not low: commits themselves still fail safely on a full disk
            return;
        }
        Interlocked.Exchange(ref _freeBytes, free);
        var low = free < MinFreeBytes;
        if (low == _low) return;
        _low = low;
        if (low)
            _log.LogError("Free space on {Folder} is {Free} bytes, below Cdp:Storage:MinFreeBytes ({Min}): ingest answers 503 until there is more " +
                "(processing, checkpoints and jobs go on with what is left)", _folder, free, MinFreeBytes);
        else
            _log.LogWarning("Free space on {Folder} is {Free} bytes again (Cdp:Storage:MinFreeBytes {Min}): ingest resumes", _folder, free, MinFreeBytes);
    }

    public void Dispose() => _timer?.Dispose();
}
