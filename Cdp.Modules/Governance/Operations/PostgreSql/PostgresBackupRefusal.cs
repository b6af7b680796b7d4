using Cdp.Modules.Governance.Contracts;

namespace Cdp.Modules.Governance.Operations.PostgreSql;

/// <summary>
/// On PostgreSQL Cdp keeps no database files of its own to copy: a backup is the database's (pg_dump, or the provider's
/// snapshots and point-in-time recovery). POST /api/admin/backup answers 409 with that; the backup and restore verbs
/// refuse before they get here (PostgresStorage.RefuseUnlessLiteDb).
/// </summary>
internal sealed class PostgresBackupRefusal : IDatabaseBackup
{
    public const string Refusal =
        "Cdp:Storage:Provider is PostgreSql: Cdp copies no database files there. Back up the PostgreSQL database with pg_dump or your provider's snapshots (README, Operations)";

    public string ResolveFolder(string? folder) => throw new BackupRefusedException(Refusal);

    public BackupReport Create(string? folder) => throw new BackupRefusedException(Refusal);

    public BackupReport CreateInBackupRoot(string? folder) => throw new BackupRefusedException(Refusal);

    public RestoreReport Restore(string folder) => throw new BackupRefusedException(Refusal);

    public void EnsureNotInUse()
    {
    }
}
