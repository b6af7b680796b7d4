using Npgsql;

namespace Cdp.Modules.Shared.Storage.PostgreSql;

/// <summary>
/// Which PostgreSQL failures come from the environment (the server, the network, the disk, a lock) rather than from the
/// data: those pass when the environment recovers, so a batch that met one is retried as it is, never split into events
/// set aside as poison. A data error (22xxx: a bad value, 23xxx: a constraint) is not one: it fails the same way each time.
/// </summary>
public static class PostgresFailure
{
    /// <summary>
    /// SQLSTATE classes of the environment: 08 connection, 53 insufficient resources (53100 disk full, 53300 too many
    /// connections), 57 operator intervention (57P01 admin shutdown, 57P03 cannot connect now), 58 system error (58030 I/O),
    /// and HV (foreign data wrappers' connections).
    /// </summary>
    private static readonly string[] EnvironmentalClasses = ["08", "53", "57", "58", "HV"];

    /// <summary>Single codes: 40001 serialization failure, 40P01 deadlock, 55P03 lock not available, 55006 object in use.</summary>
    private static readonly string[] EnvironmentalCodes = ["40001", "40P01", "55P03", "55006"];

    public static bool IsEnvironmental(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresUnavailableException:
                    return true;
                case PostgresException p:
                    return EnvironmentalCodes.Contains(p.SqlState) || EnvironmentalClasses.Any(c => p.SqlState.StartsWith(c, StringComparison.Ordinal));
                case NpgsqlException { IsTransient: true }: // a broken or timed-out connection, reported by Npgsql itself
                    return true;
            }
        }
        return false;
    }
}
