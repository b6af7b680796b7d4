using System.Diagnostics;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Cdp.Modules.Pipeline.Processing.PostgreSql;

/// <summary>
/// The processor's lead on PostgreSQL. With Cdp:Storage:Hosts = One the instance lock keeps every other process out, so
/// this host leads. With Several: a session advisory lock on a connection of its own (named "cdp leader &lt;host&gt;" in
/// pg_stat_activity, which is how the others learn who leads). PostgreSQL releases it when that connection ends: at
/// once when the process dies, and within about 11 seconds when its machine or network does (the connection asks the
/// server for TCP keepalives every 5 seconds, 3 probes 2 seconds apart). The leader checks its connection once a second
/// and steps down when it fails.
/// </summary>
internal sealed class PostgresLeadership(PostgresDatabase database, IOptions<StorageOptions> storage, ILogger<PostgresLeadership> logger) : IProcessorLeadership, IDisposable
{
    /// <summary>"cdp_proc" in ASCII.</summary>
    public const long Key = 0x6364705F70726F63;

    private const string NamePrefix = "cdp leader ";

    /// <summary>The leading host and the URL the others forward its commands to (Cdp:Storage:HostUrl), written as it takes the lead.</summary>
    public static readonly SchemaMigration V2 = new("Pipeline", 2, "the leading host's address (several hosts)", """
        CREATE TABLE cdp_processor_leader (
            id      integer     PRIMARY KEY CHECK (id = 1),
            host    text        NOT NULL,
            address text,
            since   timestamptz NOT NULL
        );
        """);
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(1);

    private readonly bool _several = storage.Value.SeveralHosts;
    private readonly string? _address = string.IsNullOrWhiteSpace(storage.Value.HostUrl) ? null : storage.Value.HostUrl.TrimEnd('/');
    private NpgsqlConnection? _lock;
    private volatile bool _leading;
    private long _checkedAt;

    public string Host => ProcessorHosts.ThisHost;

    public bool Shared => _several;

    public bool WaitToLead(CancellationToken stop, Action waiting)
    {
        if (!_several) return _leading = !stop.IsCancellationRequested;
        string? announced = null;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                _lock ??= Open();
                using var take = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", _lock);
                take.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Key });
                if ((bool)take.ExecuteScalar()!)
                {
                    using (var announce = new NpgsqlCommand("""
                        INSERT INTO cdp_processor_leader (id, host, address, since) VALUES (1, $1, $2, now())
                        ON CONFLICT (id) DO UPDATE SET host = excluded.host, address = excluded.address, since = excluded.since
                        """, _lock))
                    {
                        announce.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Host });
                        announce.Parameters.Add(new NpgsqlParameter { Value = (object?)_address ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
                        announce.ExecuteNonQuery();
                    }
                    _leading = true;
                    _checkedAt = Stopwatch.GetTimestamp();
                    logger.LogWarning("This host ({Host}) leads: it runs the profile processor", Host);
                    return true;
                }
                var leader = Leader() ?? "another host";
                if (leader != announced) logger.LogInformation("{Leader} runs the profile processor; this host ({Host}) takes over when it stops", leader, Host);
                announced = leader;
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                logger.LogWarning("The processor's lead cannot be asked for ({Error}); trying again in a second", ex.Message);
                Close();
            }
            waiting();
            if (stop.WaitHandle.WaitOne(CheckEvery)) return false;
        }
        return false;
    }

    public bool Leading
    {
        get
        {
            if (!_several) return true;
            if (!_leading || _lock is null) return false;
            if (Stopwatch.GetElapsedTime(Interlocked.Read(ref _checkedAt)) < CheckEvery) return true;
            try
            {
                using var alive = new NpgsqlCommand("SELECT 1", _lock) { CommandTimeout = 3 };
                alive.ExecuteScalar();
                Interlocked.Exchange(ref _checkedAt, Stopwatch.GetTimestamp());
                return true;
            }
            catch (Exception ex)
            {
                logger.LogError("This host ({Host}) lost the connection that holds the processor's lead ({Error}): it stops processing; another host takes over", Host, ex.Message);
                StepDown();
                return false;
            }
        }
    }

    public void StepDown()
    {
        _leading = false;
        if (_several) Close();
    }

    /// <summary>The leading host's Cdp:Storage:HostUrl, when it leads still and set one; null otherwise (or unreachable).</summary>
    public string? LeaderAddress()
    {
        if (!_several) return null;
        try
        {
            using var connection = database.DataSource.OpenConnection();
            if (LeaderName(connection) is not { } leader) return null;
            using var read = new NpgsqlCommand("SELECT address FROM cdp_processor_leader WHERE id = 1 AND host = $1", connection);
            read.Parameters.Add(new NpgsqlParameter<string> { TypedValue = leader });
            return read.ExecuteScalar() as string; // another host's row: the new leader has not written its own yet
        }
        catch (Exception)
        {
            return null;
        }
    }

    public string? Leader()
    {
        if (!_several) return Host;
        try
        {
            using var connection = database.DataSource.OpenConnection();
            return LeaderName(connection);
        }
        catch (Exception)
        {
            return null; // unreachable: unknown
        }
    }

    /// <summary>The host holding the lead, from its lock connection's name; null when no host leads.</summary>
    private static string? LeaderName(NpgsqlConnection connection) =>
        AdvisoryLockHolder.ApplicationName(connection, Key) is { } name && name.StartsWith(NamePrefix, StringComparison.Ordinal) ? name[NamePrefix.Length..] : null;

    private NpgsqlConnection Open()
    {
        var connection = database.OpenDedicated(NamePrefix + Host);
        try
        {
            // the server notices a vanished leader (a dead machine sends no FIN) in 5 + 3 x 2 seconds, not the OS's 2 hours
            using var keepalive = new NpgsqlCommand("SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3", connection);
            keepalive.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void Close()
    {
        try { _lock?.Dispose(); } catch (Exception) { /* a broken connection: the server releases its lock either way */ }
        _lock = null;
    }

    public void Dispose() => StepDown();
}
