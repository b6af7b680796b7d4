using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Cdp.Modules.Governance.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance.Operations.LiteDb;

/// <summary>
/// Backup: a folder with a consistent copy of every database file (cdp.db and the jobs file) and backup.json (names,
/// sizes, SHA-256). Restore (server stopped): checks the manifest and that each copy opens, moves the current files and
/// their -log.db aside (*.before-restore-&lt;time&gt;), then puts the copies in place.
/// </summary>
internal sealed class DatabaseBackup(
    IEnumerable<IDatabaseFile> files, IOptions<StorageOptions> storage, IOptions<BackupOptions> backupOptions, TimeProvider clock, ILogger<DatabaseBackup> log)
    : IDatabaseBackup
{
    public const string ManifestName = "backup.json";

    /// <summary>
    /// The one answer to every folder refused by <see cref="ResolveUnderRoot"/>: the same words whether the path exists,
    /// is a link or leaves the root, so that the answer tells nothing about the server's files.
    /// </summary>
    public const string FolderRefusal =
        "folder must name a new or empty folder inside the backup root (Cdp:Storage:BackupRoot), relative to it, without '..' and without links";

    /// <summary>Longer relative folder names are refused up front (no PathTooLongException from deep inside a copy).</summary>
    public const int MaxFolderLength = 200;

    /// <summary>A name longer than this is refused by every common file system (ext4, APFS, XFS: 255 bytes).</summary>
    private const int MaxNameBytes = 255;

    /// <summary>One backup at a time: two would only slow each other down and hold checkpoints off longer.</summary>
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public string ResolveFolder(string? folder)
    {
        var dataFolder = Path.GetDirectoryName(Path.GetFullPath(storage.Value.Path)) ?? ".";
        if (string.IsNullOrWhiteSpace(folder))
            return Path.Combine(dataFolder, "backups", clock.GetUtcNow().UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        return Path.GetFullPath(folder, dataFolder);
    }

    public string BackupRoot => backupOptions.Value.RootFor(storage.Value.Path);

    /// <summary>
    /// <paramref name="folder"/> (relative to the backup root, or absolute inside it) as a full path inside the root, or
    /// <see cref="BackupPathRefusedException"/>: '..' anywhere, a path leaving the root, an existing link on the way
    /// (a symlink inside the root pointing elsewhere), control characters, over-long names. Null: root/&lt;UTC time&gt;.
    /// </summary>
    public string ResolveUnderRoot(string? folder)
    {
        var root = Path.TrimEndingDirectorySeparator(BackupRoot);
        if (string.IsNullOrWhiteSpace(folder))
            return Path.Combine(root, clock.GetUtcNow().UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        if (folder.Length > MaxFolderLength || folder.Any(char.IsControl)) throw new BackupPathRefusedException(FolderRefusal);
        var segments = folder.Split(['/', '\\'], StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0 || segments.Any(s => s is ".." || System.Text.Encoding.UTF8.GetByteCount(s) > MaxNameBytes))
            throw new BackupPathRefusedException(FolderRefusal);
        string target;
        try
        {
            target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder, root));
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new BackupPathRefusedException(FolderRefusal);
        }
        if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) throw new BackupPathRefusedException(FolderRefusal);
        // every existing step below the root must be a real folder: a link could lead the copy anywhere
        var step = root;
        foreach (var name in target[(root.Length + 1)..].Split(Path.DirectorySeparatorChar))
        {
            step = Path.Combine(step, name);
            FileSystemInfo info = new DirectoryInfo(step);
            if (!info.Exists) info = new FileInfo(step);
            if (!info.Exists) break;
            if (info.LinkTarget is not null || info is FileInfo) throw new BackupPathRefusedException(FolderRefusal);
        }
        return target;
    }

    public BackupReport CreateInBackupRoot(string? folder)
    {
        var target = ResolveUnderRoot(folder);
        try
        {
            PrivateFiles.CreateFolder(BackupRoot);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new BackupRefusedException($"the backup root {BackupRoot} cannot be created: {ex.Message} (Cdp:Storage:BackupRoot)");
        }
        return Create(target);
    }

    public BackupReport Create(string? folder)
    {
        var target = ResolveFolder(folder);
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
            throw new BackupRefusedException($"the backup folder {target} is not empty; name a new or empty folder");
        if (!OneAtATime.Wait(TimeSpan.Zero)) throw new BackupRefusedException("a backup is already running");
        try
        {
            try
            {
                PrivateFiles.CreateFolder(target); // a full copy of everyone's data: 0700, the files in it 0600
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new BackupRefusedException($"the backup folder {target} cannot be created: {ex.Message}");
            }
            var started = clock.GetTimestamp();
            var copied = new List<BackupFile>();
            foreach (var file in files.OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                var name = Path.GetFileName(file.FilePath);
                var path = Path.Combine(target, name);
                var bytes = file.CopyConsistentTo(path);
                copied.Add(new BackupFile(file.Name, name, bytes, Sha256(path)));
            }
            var report = new BackupReport(target, clock.GetUtcNow().UtcDateTime, copied, clock.GetElapsedTime(started).TotalMilliseconds);
            using (var manifest = new FileStream(Path.Combine(target, ManifestName), PrivateFiles.Create()))
                System.Text.Json.JsonSerializer.Serialize(manifest, report, Json);
            log.LogInformation("Backup written to {Folder}: {Files}", target, string.Join(", ", copied.Select(c => $"{c.File} {c.Bytes} bytes")));
            return report;
        }
        finally
        {
            OneAtATime.Release();
        }
    }

    public void EnsureNotInUse()
    {
        foreach (var f in files)
            if (DatabaseFileLock.IsHeld(f.FilePath, out var pid)) throw new DatabaseInUseException(f.FilePath, pid);
    }

    /// <summary>Refuses while a Cdp process holds a database file; never opens the current files.</summary>
    public RestoreReport Restore(string folder)
    {
        var source = Path.GetFullPath(folder);
        var manifestPath = Path.Combine(source, ManifestName);
        if (!File.Exists(manifestPath)) throw new BackupRefusedException($"{source} is not a Cdp backup: {ManifestName} is missing");
        var manifest = System.Text.Json.JsonSerializer.Deserialize<BackupReport>(File.ReadAllText(manifestPath), Json)
            ?? throw new BackupRefusedException($"{manifestPath} is empty");
        var byName = files.ToDictionary(f => f.Name, StringComparer.Ordinal);

        // 1. everything checked before anything is touched
        foreach (var entry in manifest.Files)
        {
            if (!byName.ContainsKey(entry.Name)) throw new BackupRefusedException($"the backup holds '{entry.Name}', which this Cdp does not know");
            var copy = Path.Combine(source, entry.File);
            if (!File.Exists(copy)) throw new BackupRefusedException($"{copy} is missing from the backup");
            if (!string.Equals(Sha256(copy), entry.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new BackupRefusedException($"{copy} does not match its SHA-256 in {ManifestName}: the backup is damaged");
            CheckOpens(copy);
        }
        if (manifest.Files.All(f => f.Name != "data")) throw new BackupRefusedException("the backup has no data file (cdp.db)");

        // 2. current files aside, copies in place, holding every file's lock: no Cdp opens them meanwhile
        var locks = new List<DatabaseFileLock>();
        try
        {
            foreach (var file in files) locks.Add(DatabaseFileLock.Acquire(file.FilePath));
            return PutInPlace(source, manifest, byName);
        }
        finally
        {
            foreach (var held in locks) held.Dispose();
        }
    }

    private RestoreReport PutInPlace(string source, BackupReport manifest, Dictionary<string, IDatabaseFile> byName)
    {
        var stamp = clock.GetUtcNow().UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var aside = new List<string>();
        var restored = new List<string>();
        foreach (var entry in manifest.Files)
        {
            var live = byName[entry.Name].FilePath;
            PrivateFiles.CreateFolder(Path.GetDirectoryName(live)!);
            foreach (var current in new[] { live, LiteDbFiles.LogFileOf(live) })
            {
                if (!File.Exists(current)) continue;
                var moved = current + ".before-restore-" + stamp;
                File.Move(current, moved);
                aside.Add(moved);
            }
            File.Copy(Path.Combine(source, entry.File), live);
            PrivateFiles.SetPrivate(live); // File.Copy keeps the mode of the copy it came from
            restored.Add(live);
        }
        log.LogInformation("Restored {Files} from {Folder}; previous files kept as {Aside}", restored, source, aside);
        return new RestoreReport(source, restored, aside);
    }

    private static void CheckOpens(string file)
    {
        try
        {
            using var db = new LiteDatabase(new ConnectionString { Filename = file, Connection = ConnectionType.Direct, ReadOnly = true });
            _ = db.GetCollectionNames().ToList();
        }
        catch (Exception ex) when (ex is LiteException or IOException or InvalidCastException or ArgumentException or NotSupportedException or InvalidOperationException or IndexOutOfRangeException)
        {
            throw new BackupRefusedException($"{file} does not open as a LiteDB database: {ex.Message}");
        }
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
