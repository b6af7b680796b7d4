using System.Globalization;
using Npgsql;

namespace Cdp.Modules.Shared.Storage.PostgreSql;

/// <summary>
/// One Cdp process per PostgreSQL database, as one per LiteDB file (DatabaseFileLock): the server and the CLI verbs take a
/// session advisory lock on a connection of their own and hold it while they run. A second process (a verb while the
/// server runs, or a second server) is refused with <see cref="DatabaseInUseException"/> (exit 2) naming the database and
/// the process that holds it. PostgreSQL releases the lock when that connection ends, also when the process is killed.
/// With <c>Cdp:Storage:Hosts = Several</c> (issue #28) servers take the lock shared, so several run together, while a verb
/// still takes it exclusively: refused while any server runs, and a server refused while a verb runs.
/// </summary>
internal sealed class PostgresInstanceLock : IDisposable
{
    /// <summary>"cdp_host" in ASCII.</summary>
    public const long Key = 0x6364705F686F7374;

    private const string NamePrefix = "cdp pid ";

    private readonly NpgsqlConnection _connection;

    public PostgresInstanceLock(PostgresDatabase database, bool shared = false)
    {
        _connection = database.OpenDedicated(NamePrefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        using var take = new NpgsqlCommand(shared ? "SELECT pg_try_advisory_lock_shared($1)" : "SELECT pg_try_advisory_lock($1)", _connection);
        take.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Key });
        if ((bool)take.ExecuteScalar()!) return;
        var holder = Holder();
        _connection.Dispose();
        throw new DatabaseInUseException($"the PostgreSQL database {database.Redacted}", holder);
    }

    /// <summary>
    /// The Cdp process holding the lock, from its connection's application name, when PostgreSQL shows it. pg_locks lists
    /// the whole cluster's locks: only this database's count (another Cdp installation on the same server holds its own).
    /// </summary>
    private int? Holder() =>
        AdvisoryLockHolder.ApplicationName(_connection, Key) is { } name && name.StartsWith(NamePrefix, StringComparison.Ordinal)
        && int.TryParse(name.AsSpan(NamePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;

    public void Dispose() => _connection.Dispose();
}
