using Cdp.Modules.Shared.Storage.PostgreSql;

namespace Cdp.Modules.Collection.EventLog.PostgreSql;

/// <summary>The Collection module's migrations (see <see cref="EventLogTables"/>).</summary>
internal sealed class CollectionPostgresSchema : IPostgresSchema
{
    public IEnumerable<SchemaMigration> Migrations =>
    [
        new("Collection", 1, "event log, dead letters, import ledger, ingest counters", EventLogTables.V1),
        new("Collection", 2, "appends numbered by the database, the dedup window's keys and the group commits (several hosts)", EventLogTables.V2),
        new("Collection", 3, "tracking plan violations per hour", EventLogTables.V3),
    ];
}
