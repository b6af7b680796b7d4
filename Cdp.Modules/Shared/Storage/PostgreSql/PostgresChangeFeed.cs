using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Cdp.Modules.Shared.Storage.PostgreSql;

/// <summary>
/// <see cref="IChangeFeed"/> on PostgreSQL: stores announce a change with <c>pg_notify('cdp_changed', topic)</c> inside
/// their transaction (<see cref="Announce"/>); with Cdp:Storage:Hosts = Several every host LISTENs on a connection of the
/// pool and calls the topic's handlers. When that connection is lost (a restart, a fail-over) it opens another and calls
/// every handler once, since a change may have been announced meanwhile. With one host it listens to nothing.
/// </summary>
internal sealed class PostgresChangeFeed(PostgresDatabase database, IOptions<StorageOptions> storage, ILogger<PostgresChangeFeed> logger) : IChangeFeed, IDisposable
{
    public const string Channel = "cdp_changed";

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<Action, byte>> _handlers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task? _listening;
    private readonly Lock _start = new();

    /// <summary>Inside <paramref name="tx"/>: the other hosts hear that <paramref name="topic"/> changed when it commits.</summary>
    public static void Announce(IUnitOfWork tx, string topic)
    {
        using var cmd = tx.Postgres().Command("SELECT pg_notify($1, $2)");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Channel });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = topic });
        cmd.ExecuteNonQuery();
    }

    /// <summary>Outside a transaction (a single statement's change): announced at once.</summary>
    public static void Announce(NpgsqlDataSource dataSource, string topic)
    {
        using var cmd = dataSource.CreateCommand("SELECT pg_notify($1, $2)");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Channel });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = topic });
        cmd.ExecuteNonQuery();
    }

    public IDisposable On(string topic, Action reload)
    {
        var handlers = _handlers.GetOrAdd(topic, _ => new ConcurrentDictionary<Action, byte>());
        handlers.TryAdd(reload, 0);
        if (storage.Value.SeveralHosts)
            lock (_start) _listening ??= Task.Run(() => ListenAsync(_stop.Token));
        return new Subscription(() => handlers.TryRemove(reload, out _));
    }

    private async Task ListenAsync(CancellationToken stop)
    {
        var first = true;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var conn = await database.DataSource.OpenConnectionAsync(stop);
                conn.Notification += (_, e) => Call(e.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", conn)) await listen.ExecuteNonQueryAsync(stop);
                if (!first) foreach (var topic in _handlers.Keys) Call(topic); // a change may have been announced while no one listened
                first = false;
                while (!stop.IsCancellationRequested) await conn.WaitAsync(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning("Listening for other hosts' changes failed ({Error}); listening again in a second", ex.Message);
                first = false;
                try { await Task.Delay(TimeSpan.FromSeconds(1), stop); } catch (OperationCanceledException) { return; }
            }
        }
    }

    private void Call(string topic)
    {
        if (!_handlers.TryGetValue(topic, out var handlers)) return;
        foreach (var reload in handlers.Keys)
        {
            try { reload(); }
            catch (Exception ex) { logger.LogError(ex, "Reloading {Topic} after another host changed it failed; it is reloaded at the next change", topic); }
        }
    }

    public void Dispose() => _stop.Cancel();

    private sealed class Subscription(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
