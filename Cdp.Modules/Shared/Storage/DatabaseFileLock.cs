using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// One Cdp process per database file: an exclusive OS lock on a sibling lock file (cdp.db → cdp.db.lock) held from
/// before LiteDB opens the file until it is closed. LiteDB's direct mode would otherwise let a second process open the
/// same file and corrupt it (its own locks are per process). FileShare.None is an exclusive flock on Unix and a sharing
/// denial on Windows; both end with the process, even on kill -9. The lock file holds the owner's pid, for the message.
/// The file stays in place: deleting it while another process waits for it would let two processes lock two files.
/// </summary>
public sealed partial class DatabaseFileLock : IDisposable
{
    /// <summary>
    /// How long a lock held by THIS process is waited for: a host being disposed in this process (tests restart hosts
    /// on one file) may still be closing it. A lock held by another process is refused at once.
    /// </summary>
    private static readonly TimeSpan InProcessWait = TimeSpan.FromSeconds(5);

    private static FileStreamOptions LockFileOptions
    {
        get
        {
            var o = PrivateFiles.Create(FileMode.OpenOrCreate);
            o.Access = FileAccess.ReadWrite;
            return o;
        }
    }

    /// <summary>Lock files held by this process (full paths).</summary>
    private static readonly ConcurrentDictionary<string, byte> HeldHere = new(StringComparer.Ordinal);

    private readonly FileStream _stream;

    private DatabaseFileLock(string databaseFile, string lockFile, FileStream stream)
    {
        DatabaseFile = databaseFile;
        LockFile = lockFile;
        _stream = stream;
    }

    public string DatabaseFile { get; }

    public string LockFile { get; }

    public static string LockFileOf(string databaseFile) => Path.GetFullPath(databaseFile) + ".lock";

    /// <summary>Takes the lock of <paramref name="databaseFile"/> or throws <see cref="DatabaseInUseException"/>.</summary>
    public static DatabaseFileLock Acquire(string databaseFile)
    {
        var full = Path.GetFullPath(databaseFile);
        var lockFile = LockFileOf(full);
        var dir = Path.GetDirectoryName(lockFile);
        if (!string.IsNullOrEmpty(dir)) PrivateFiles.CreateFolder(dir);
        var deadline = DateTime.UtcNow + InProcessWait;
        while (true)
        {
            try
            {
                var stream = new FileStream(lockFile, LockFileOptions);
                HeldHere[lockFile] = 0;
                try
                {
                    var pid = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
                    stream.SetLength(0);
                    stream.Write(pid);
                    stream.Flush();
                }
                catch (IOException)
                {
                    // the pid is only for the message of a refused process
                }
                return new DatabaseFileLock(full, lockFile, stream);
            }
            catch (IOException ex) when (StorageFailure.IsDiskFull(ex))
            {
                throw new StorageUnavailableException(lockFile, ex); // not "in use": the disk has no room for the lock file
            }
            catch (IOException) when (HeldHere.ContainsKey(lockFile) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
            catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException)
            {
                throw new DatabaseInUseException(full, HolderPid(lockFile), ex);
            }
        }
    }

    /// <summary>True when a process (this one included) holds the lock of <paramref name="databaseFile"/>; never takes it.</summary>
    public static bool IsHeld(string databaseFile, out int? pid)
    {
        pid = null;
        var lockFile = LockFileOf(databaseFile);
        if (!File.Exists(lockFile)) return false;
        try
        {
            using var probe = new FileStream(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (IOException)
        {
            pid = HolderPid(lockFile);
            return true;
        }
    }

    /// <summary>
    /// The pid written by the lock's holder. .NET takes a shared flock for every FileStream it opens, which the holder's
    /// exclusive one refuses, so on Unix the file is read through a plain open(2). Null when unknown.
    /// </summary>
    private static int? HolderPid(string lockFile)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return null;
        var fd = OpenReadOnly(lockFile, 0 /* O_RDONLY */);
        if (fd < 0) return null;
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            using var stream = new FileStream(handle, FileAccess.Read, 1);
            var buffer = new byte[32];
            var n = stream.Read(buffer);
            return int.TryParse(Encoding.ASCII.GetString(buffer, 0, n).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenReadOnly(string path, int flags);

    public void Dispose()
    {
        _stream.Dispose();
        HeldHere.TryRemove(LockFile, out _);
    }
}

/// <summary>Another Cdp process (or another host in this process) has the database file open.</summary>
public sealed class DatabaseInUseException(string databaseFile, int? pid, Exception? inner = null)
    : IOException(Describe(databaseFile, pid), inner)
{
    /// <summary>The process exit code of a verb (or the server) refused for this reason.</summary>
    public const int ExitCode = 2;

    public string DatabaseFile { get; } = databaseFile;

    public int? Pid { get; } = pid;

    private static string Describe(string file, int? pid) =>
        $"{file} is in use by another Cdp process ({(pid is { } p ? "pid " + p.ToString(CultureInfo.InvariantCulture) : "pid unknown")})";
}
