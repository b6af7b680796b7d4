using Npgsql;

namespace Cdp.Modules.Shared.Storage.PostgreSql;

/// <summary>Who holds a session advisory lock of this database: the application name of its connection, as Cdp names them.</summary>
internal static class AdvisoryLockHolder
{
    /// <summary>
    /// The application name of a connection holding <paramref name="key"/> in this database (pg_locks lists the whole
    /// cluster's locks: another Cdp installation on the same server holds its own); null when none does, or when this role
    /// may not read pg_stat_activity.
    /// </summary>
    public static string? ApplicationName(NpgsqlConnection connection, long key)
    {
        using var cmd = new NpgsqlCommand("""
            SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 1
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """, connection);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (key >> 32) & 0xFFFFFFFF });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = key & 0xFFFFFFFF });
        try
        {
            return cmd.ExecuteScalar() as string;
        }
        catch (PostgresException)
        {
            return null;
        }
    }
}
