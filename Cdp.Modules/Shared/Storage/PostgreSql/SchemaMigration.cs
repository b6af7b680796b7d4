namespace Cdp.Modules.Shared.Storage.PostgreSql;

/// <summary>
/// One step of a module's PostgreSQL schema: <paramref name="Sql"/> runs once per database, in one transaction with its row in
/// <c>cdp_schema_migrations</c>. A module's versions start at 1 and go up by one. Never edit a released migration (its
/// checksum is compared at every start): add the next version instead.
/// </summary>
/// <param name="Module">the module that owns the tables, e.g. "Collection"</param>
/// <param name="Version">1, 2, 3, ... within the module</param>
/// <param name="Name">what it does, in a few words ("event log table"), shown by <c>migrate</c></param>
/// <param name="Sql">the statements, ';'-separated; no CREATE INDEX CONCURRENTLY (it cannot run in a transaction)</param>
public sealed record SchemaMigration(string Module, int Version, string Name, string Sql);

/// <summary>
/// A module's PostgreSQL schema: register one implementation per module (<c>services.AddSingleton&lt;IPostgresSchema, ...&gt;()</c>);
/// <see cref="SchemaMigrator"/> applies what a database lacks.
/// </summary>
internal interface IPostgresSchema
{
    IEnumerable<SchemaMigration> Migrations { get; }
}
