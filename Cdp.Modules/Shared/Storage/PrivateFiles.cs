using System.Runtime.Versioning;

namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// Files that hold everyone's data (the databases and their logs, backups, CSV outputs, the audit key) are readable by
/// Cdp's own user only: created 0600 in folders created 0700 on Linux and macOS. Windows has no modes: there the folder's
/// inherited ACL applies and these calls change nothing.
/// </summary>
public static class PrivateFiles
{
    /// <summary>rw------- : the owner (the user Cdp runs as) reads and writes, nobody else.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>rwx------ : the owner lists and enters the folder, nobody else.</summary>
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    [UnsupportedOSPlatformGuard("windows")]
    private static bool HasModes => !OperatingSystem.IsWindows();

    /// <summary>Creates <paramref name="folder"/> (and missing parents) 0700; an existing folder is left as it is.</summary>
    public static void CreateFolder(string folder)
    {
        if (string.IsNullOrEmpty(folder)) return;
        if (!HasModes)
        {
            Directory.CreateDirectory(folder);
            return;
        }
        // Directory.CreateDirectory(path, mode) gives the mode to the last folder only: each missing one is made here
        var missing = new Stack<string>();
        for (var d = Path.GetFullPath(folder); d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d)) missing.Push(d);
        foreach (var d in missing) Directory.CreateDirectory(d, FolderMode);
    }

    /// <summary>Options for a new file created 0600 (the mode applies only when the file is created).</summary>
    public static FileStreamOptions Create(System.IO.FileMode mode = System.IO.FileMode.Create, FileShare share = FileShare.None, int bufferSize = 4096, FileOptions options = FileOptions.None)
    {
        var o = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = share, BufferSize = bufferSize, Options = options };
        if (HasModes) o.UnixCreateMode = FileMode;
        return o;
    }

    /// <summary>
    /// A file another component creates itself (LiteDB opens its data and log files with the process's default mode):
    /// created empty 0600 in advance when missing (LiteDB takes an empty file as a new database and an empty log as no
    /// log), set to 0600 when present. Best effort: a full disk or a file of another owner leaves it as it is (the 0700
    /// folder still keeps other users out).
    /// </summary>
    public static void Restrict(string file)
    {
        if (!HasModes) return;
        try
        {
            if (File.Exists(file))
            {
                if ((File.GetUnixFileMode(file) & ~FileMode) != 0) File.SetUnixFileMode(file, FileMode);
            }
            else
            {
                using var _ = new FileStream(file, new FileStreamOptions
                {
                    Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete,
                    UnixCreateMode = FileMode,
                });
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // best effort, see above
        }
    }

    /// <summary>Sets an existing file to 0600 (a copy made by File.Copy keeps its source's mode).</summary>
    public static void SetPrivate(string file)
    {
        if (HasModes && File.Exists(file)) File.SetUnixFileMode(file, FileMode);
    }
}
