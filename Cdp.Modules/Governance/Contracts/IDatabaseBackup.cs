namespace Cdp.Modules.Governance.Contracts;

public sealed record BackupFile(string Name, string File, long Bytes, string Sha256);

public sealed record BackupReport(string Folder, DateTime CreatedAt, IReadOnlyList<BackupFile> Files, double DurationMs);

public sealed record RestoreReport(string Folder, IReadOnlyList<string> Restored, IReadOnlyList<string> KeptAside);

/// <summary>A backup or restore that was refused, with a message for the operator (HTTP 409, CLI exit 1).</summary>
public sealed class BackupRefusedException(string message) : Exception(message);

/// <summary>
/// A folder for <c>POST /api/admin/backup</c> outside the backup root, with '..', through a link or otherwise unusable
/// (HTTP 400, always the same message: no hint whether the path exists).
/// </summary>
public sealed class BackupPathRefusedException(string message) : Exception(message);

/// <summary>Backups of cdp.db and the jobs file (used by POST /api/admin/backup and the backup/restore verbs).</summary>
public interface IDatabaseBackup
{
    /// <summary>Relative folders are taken from the data file's folder; null: backups/&lt;UTC time&gt; there.</summary>
    string ResolveFolder(string? folder);

    /// <summary>Consistent copies of the live databases of this process into an empty or new folder (the CLI: any folder).</summary>
    BackupReport Create(string? folder);

    /// <summary>
    /// The same, for the HTTP API: only into a new or empty folder inside the backup root (Cdp:Storage:BackupRoot, default
    /// backups/ beside cdp.db); <see cref="BackupPathRefusedException"/> for any other folder. Null: root/&lt;UTC time&gt;.
    /// </summary>
    BackupReport CreateInBackupRoot(string? folder);

    /// <summary>
    /// Server stopped: validates the backup, then, holding the lock of every database file (so no Cdp can open them
    /// meanwhile; DatabaseInUseException when one runs), moves the current files aside and puts the copies in place.
    /// </summary>
    RestoreReport Restore(string folder);

    /// <summary>
    /// Throws <see cref="Cdp.Modules.Shared.Storage.DatabaseInUseException"/> (naming the file and the process) when a Cdp
    /// process, this one included, holds one of the database files (its lock file, see DatabaseFileLock).
    /// </summary>
    void EnsureNotInUse();
}
