using LiteDB;

namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// Which failures of a LiteDB call come from the machine rather than from the data (disk full, I/O errors, an engine that
/// closed itself after one), and how to say so in one line. Environmental failures pass when the machine recovers: the
/// storage layer reopens the engine and callers retry; a failure of the data fails the same way every time.
/// </summary>
public static class StorageFailure
{
    // errno values (Linux) and Win32 error codes .NET puts in IOException.HResult for a full disk or quota
    private const int Enospc = 28, Edquot = 122, ErrorDiskFull = 112, ErrorHandleDiskFull = 39;

    /// <summary>An I/O error, or LiteDB's engine closed (it closes itself after an I/O error inside a write).</summary>
    public static bool IsEnvironmental(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is IOException or UnauthorizedAccessException) return true;
            if (e is LiteException { ErrorCode: LiteException.ENGINE_DISPOSED or LiteException.INVALID_DATAFILE_STATE }) return true;
        }
        return false;
    }

    /// <summary>
    /// LiteDB errors about the engine or the file, never about one document: the engine closed itself
    /// (ENGINE_DISPOSED, INVALID_DATAFILE_STATE, DATABASE_SHUTDOWN: the StorageWatchdog stops the host then), a lock
    /// not obtained in time, the data file gone, or over the size limit of the file. For the processor's choice between
    /// retrying a batch and splitting it (Pipeline's BatchFailure), which thus names no LiteDB type.
    /// </summary>
    private static readonly HashSet<int> EngineErrors =
    [
        LiteException.ENGINE_DISPOSED, LiteException.INVALID_DATAFILE_STATE, LiteException.DATABASE_SHUTDOWN,
        LiteException.LOCK_TIMEOUT, LiteException.FILE_NOT_FOUND, LiteException.FILE_SIZE_EXCEEDED, LiteException.ALREADY_OPEN_DATAFILE,
    ];

    /// <summary>This one exception (not its inner ones) is a LiteDB error of the engine or the file (<see cref="EngineErrors"/>).</summary>
    public static bool IsEngineFailure(Exception e) => e is LiteException l && EngineErrors.Contains(l.ErrorCode);

    /// <summary>This one exception is LiteDB's (any error code).</summary>
    public static bool IsLiteDbError(Exception e) => e is LiteException;

    /// <summary>The device holding the file is full (or the user's quota is).</summary>
    public static bool IsDiskFull(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is not IOException io) continue;
            if ((io.HResult & 0xFFFF) is Enospc or Edquot or ErrorDiskFull or ErrorHandleDiskFull) return true;
            if (io.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    /// <summary>"disk full (No space left on device : '/var/lib/cdp/cdp-log.db')", "I/O error (...)", or the message.</summary>
    public static string Describe(Exception ex)
    {
        var root = ex;
        for (var e = ex; e is not null; e = e.InnerException)
            if (e is IOException or UnauthorizedAccessException) { root = e; break; }
        if (IsDiskFull(ex)) return $"disk full ({root.Message})";
        return root switch
        {
            UnauthorizedAccessException => $"access denied ({root.Message})",
            IOException => $"I/O error ({root.Message})",
            _ => root.Message,
        };
    }
}
