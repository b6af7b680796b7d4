namespace Cdp.Modules.Governance.Audit;

/// <summary>
/// The audit log as it is stored: records keyed by their id (UTC ticks of the action, bumped to stay unique), so that
/// the id orders them by time and serves both the cursor and the time range. LiteDb/LiteAuditStore and
/// PostgreSql/PostgresAuditStore keep it.
/// </summary>
internal interface IAuditStore
{
    /// <summary>The newest record's id, 0 when there is none.</summary>
    long LastId();

    long Count();

    void Insert(AuditRecord record);

    /// <summary>Records with lower &lt; id &lt; upper, optionally one actor's: oldest first, or newest first.</summary>
    List<AuditRecord> Page(long lower, long upper, string? actor, int take, bool newestFirst);

    /// <summary>Deletes the records with id &lt; <paramref name="id"/>; returns how many.</summary>
    int DeleteBefore(long id);

    /// <summary>Deletes the <paramref name="count"/> oldest records; returns how many.</summary>
    int DeleteOldest(int count);

    /// <summary>
    /// Once per database: records written before keyed hashes are rewritten by <paramref name="rewrite"/>, then marked done.
    /// Returns how many. (Only LiteDB files written by old versions hold such records.)
    /// </summary>
    int UpgradeLegacyRecords(Func<AuditRecord, AuditRecord> rewrite);
}
