using System.Collections.Concurrent;
using System.Text;
using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Collection.EventLog.PostgreSql;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Cdp.Tests.Support;
using Npgsql;

namespace Cdp.Tests.Storage;

/// <summary>The event log on a real PostgreSQL (a throwaway cluster): order, bytes, hostile values, and gapless reads under concurrent appends.</summary>
public sealed class PostgresEventLogStoreTests : IAsyncDisposable
{
    private PostgresDatabase _database = null!;
    private string _connection = null!;
    private NpgsqlDataSource _data = null!;
    private PostgresEventLogStore _store = null!;
    private static readonly DateTime At = new(2026, 12, 3, 10, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// A fresh database of the test cluster with Collection's tables, made by the module's own migrations (skips, or fails
    /// under CI, without PostgreSQL).
    /// </summary>
    private async Task Fresh()
    {
        _connection = await PostgresServer.CreateDatabaseAsync();
        _database = new PostgresDatabase(_connection);
        new SchemaMigrator(_database, [new CollectionPostgresSchema()]).Apply();
        _data = _database.DataSource;
        _store = new PostgresEventLogStore(_database);
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null) await _database.DisposeAsync();
    }

    private static AcceptedEvent Event(string messageId, string source = "web") =>
        new(source, messageId, Encoding.UTF8.GetBytes($$"""{"type":"track","messageId":"{{messageId.Replace("\0", "\\u0000")}}","event":"Viewed"}"""));

    [SkippableFact]
    public async Task Appended_events_read_back_in_order_with_their_exact_bytes()
    {
        await Fresh();
        var first = new[] { Event("m1"), Event("m2") };
        var second = new[] { Event("m3", "crm"), Event("é-☃-m4") };
        _store.Append(1, At, first, []);
        _store.Append(3, At.AddSeconds(1), second, []);

        var all = _store.ReadAfter(0, long.MaxValue, 100);
        all.Select(e => e.Sequence).Should().Equal(1, 2, 3, 4);
        all.Select(e => e.MessageId).Should().Equal("m1", "m2", "m3", "é-☃-m4");
        all.Select(e => e.Source).Should().Equal("web", "web", "crm", "web");
        all[3].Json.ToArray().Should().Equal(second[1].Json);
        all[2].ReceivedAt.Should().Be(At.AddSeconds(1));
        _store.ReadAfter(1, 3, 100).Select(e => e.Sequence).Should().Equal(2, 3);
        _store.ReadAfter(0, long.MaxValue, 2).Select(e => e.Sequence).Should().Equal(1, 2);
    }

    [SkippableFact]
    public async Task A_commit_that_reported_a_failure_is_found_by_its_id_with_the_sequences_it_got()
    {
        await Fresh();
        _store.Append(1, At, [Event("a")], []);
        var append = new LogAppend(2, At, [Event("b"), Event("c")], []);
        var result = _store.Append(append);

        _store.Stored(append).Should().Be(result).And.Be(new AppendResult(2, 2));
        _store.Stored(new LogAppend(4, At, [Event("d")], [])).Should().BeNull("an append that never ran did not commit");
    }

    [SkippableFact]
    public async Task A_messageId_and_a_refused_text_with_a_NUL_character_are_stored_and_read_back_whole()
    {
        await Fresh();
        var hostile = Event("evil\0id");
        var refused = new RejectedEvent("web", 0, [new EventError(0, "type", "unknown type \0")], "{\"type\":\"\0\"}");
        _store.Append(1, At, [hostile, Event("next")], [refused]);

        _store.ReadAfter(0, long.MaxValue, 10).Select(e => e.MessageId).Should().Equal("evil\0id", "next");
        using var cmd = _data.CreateCommand("SELECT raw FROM cdp_dead_letters");
        Encoding.UTF8.GetString((byte[])cmd.ExecuteScalar()!).Should().Be(refused.Raw);
    }

    [SkippableFact]
    public async Task The_database_numbers_each_append_after_the_newest_committed_event_whatever_the_writer_guessed()
    {
        await Fresh();
        _store.Append(1, At, [Event("a"), Event("b")], []).Should().Be(new AppendResult(1, 2));

        _store.Append(1, At, [Event("c")], []).Should().Be(new AppendResult(3, 1), "another host may have appended since this one counted");
        _store.Append(9, At, [Event("d")], [new RejectedEvent("web", 1, [new EventError(1, "type", "missing")], "{}")]).Should().Be(new AppendResult(4, 1));
        _store.ReadAfter(0, long.MaxValue, 10).Select(e => (e.Sequence, e.MessageId)).Should().Equal((1, "a"), (2, "b"), (3, "c"), (4, "d"));
    }

    [SkippableFact]
    public async Task A_retry_that_reaches_another_host_within_the_window_is_acknowledged_and_stored_once()
    {
        await Fresh();
        await using var other = new PostgresDatabase(_connection);
        var second = new PostgresEventLogStore(other);
        var batch = Enumerable.Range(0, 50).Select(i => Event($"m{i}")).ToArray();

        // the same batch posted to two hosts at once: their appends race for the log's lock
        using var start = new Barrier(2);
        var results = await Task.WhenAll(
            Task.Run(() => { start.SignalAndWait(); return _store.Append(1, At, batch, []); }),
            Task.Run(() => { start.SignalAndWait(); return second.Append(1, At, batch, []); }));

        results.Sum(r => r.Stored).Should().Be(50);
        _store.ReadAfter(0, long.MaxValue, 1000).Select(e => e.MessageId).Should().Equal(batch.Select(e => e.MessageId), "stored once, in the batch's order");
        second.Append(1, At.AddHours(1), [Event("m7"), Event("m7", "crm"), Event("new"), Event("new")], []).Should().Be(new AppendResult(51, 2),
            "within the window only the new pair (once, though the append repeats it) and the same messageId from another source are stored");
    }

    [SkippableFact]
    public async Task The_dedup_window_forgets_keys_older_than_it_and_a_zero_window_stores_every_retry()
    {
        await Fresh();
        var window = new PostgresEventLogStore(_database, Microsoft.Extensions.Options.Options.Create(new Cdp.Modules.Collection.CollectionOptions { DedupWindow = TimeSpan.FromHours(1) }));
        window.Append(1, At, [Event("a")], []);
        window.Append(1, At.AddMinutes(59), [Event("a")], []).Stored.Should().Be(0);

        window.Append(1, At.AddMinutes(62), [Event("b")], []).Stored.Should().Be(1, "this append prunes the keys older than an hour");
        window.Append(1, At.AddMinutes(63), [Event("a")], []).Stored.Should().Be(1, "a's key left the window");
        await using (var keys = _data.CreateCommand("SELECT count(*) FROM cdp_event_dedup"))
            ((long)(await keys.ExecuteScalarAsync())!).Should().Be(2);

        var none = new PostgresEventLogStore(_database, Microsoft.Extensions.Options.Options.Create(new Cdp.Modules.Collection.CollectionOptions { DedupWindow = TimeSpan.Zero }));
        none.Append(1, At.AddMinutes(64), [Event("b")], []).Stored.Should().Be(1, "no window: every event is stored");

        var oneHost = new PostgresEventLogStore(_database, Microsoft.Extensions.Options.Options.Create(new Cdp.Modules.Collection.CollectionOptions()),
            Microsoft.Extensions.Options.Options.Create(new Cdp.Modules.Shared.Storage.StorageOptions { Provider = "PostgreSql", Hosts = "One" }));
        oneHost.Append(1, At.AddMinutes(65), [Event("b"), Event("c")], []).Stored.Should().Be(2, "with one host its memory deduplicates: the database keeps no keys");
        await using (var keys = _data.CreateCommand("SELECT count(*) FROM cdp_event_dedup WHERE at > $1"))
        {
            keys.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = At.AddMinutes(64), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
            ((long)(await keys.ExecuteScalarAsync())!).Should().Be(0);
        }
    }

    [SkippableFact]
    public async Task The_dedup_keys_beyond_DedupMaxEntries_are_pruned_oldest_first()
    {
        await Fresh();
        var bounded = new PostgresEventLogStore(_database, Microsoft.Extensions.Options.Options.Create(new Cdp.Modules.Collection.CollectionOptions { DedupMaxEntries = 3 }));
        for (var i = 0; i < 5; i++) bounded.Append(1, At.AddSeconds(i), [Event($"k{i}")], []);

        bounded.Append(1, At.AddMinutes(2), [Event("k5")], []).Stored.Should().Be(1, "this append prunes: a minute passed since the first");

        await using var keys = _data.CreateCommand("SELECT count(*) FROM cdp_event_dedup");
        ((long)(await keys.ExecuteScalarAsync())!).Should().Be(3);
        bounded.Append(1, At.AddMinutes(2), [Event("k0"), Event("k4"), Event("k5")], []).Should().Be(new AppendResult(7, 1), "k0 was forgotten; k4 and k5 are the newest");
    }

    [SkippableFact]
    public async Task Another_hosts_commit_reaches_this_hosts_watcher_as_the_new_head()
    {
        await Fresh();
        await using var other = new PostgresDatabase(_connection);
        var second = new PostgresEventLogStore(other);
        var heads = new ConcurrentQueue<long>();
        using var stop = new CancellationTokenSource();
        var watch = _store.WatchHeadAsync(heads.Enqueue, stop.Token);
        await WaitFor(() => heads.Contains(0));

        second.Append(1, At, [Event("a"), Event("b"), Event("c")], []);

        await WaitFor(() => heads.Contains(3));
        await stop.CancelAsync();
        await watch.WaitAsync(TimeSpan.FromSeconds(10));
        heads.Should().OnlyContain(h => h == 0 || h == 3);
    }

    [SkippableFact]
    public async Task Two_hosts_writers_store_each_messageId_once_and_each_host_learns_the_others_commits()
    {
        await Fresh();
        await using var otherDatabase = new PostgresDatabase(_connection);
        var hosts = new[] { (Store: _store, Head: new LogHead()), (Store: new PostgresEventLogStore(otherDatabase), Head: new LogHead()) };
        var writers = hosts.Select(h => new EventLogWriter(h.Store, h.Head, TimeProvider.System,
            Microsoft.Extensions.Options.Options.Create(new Cdp.Modules.Collection.CollectionOptions()),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<EventLogWriter>.Instance)).ToArray();
        foreach (var w in writers) await w.StartAsync(CancellationToken.None);
        try
        {
            // each host gets 40 requests of 10 events; half of each request's messageIds are also sent to the other host
            // (a retry through the load balancer), the other half are its own
            var requests = Enumerable.Range(0, 40).SelectMany(r => new[] { 0, 1 }.Select(h => (Host: h, Events: Enumerable.Range(0, 10)
                .Select(i => Event(i < 5 ? $"shared-{r}-{i}" : $"own-{h}-{r}-{i}")).ToArray()))).ToList();
            var outcomes = await Task.WhenAll(requests.Select(q => Task.Run(() => writers[q.Host].SubmitAsync(q.Events, []))));
            outcomes.Should().OnlyContain(o => o == SubmitOutcome.Committed);

            var expected = 40 * 5 + 2 * 40 * 5;
            var stored = _store.ReadAfter(0, long.MaxValue, 10_000);
            stored.Select(e => e.MessageId).Should().OnlyHaveUniqueItems().And.HaveCount(expected);
            stored.Select(e => e.Sequence).Should().Equal(Enumerable.Range(1, expected).Select(i => (long)i));
            writers.Sum(w => w.CommittedEvents).Should().Be(expected);
            writers.Sum(w => w.DuplicateEvents).Should().Be(40 * 5, "each shared messageId is a duplicate on the host that came second");
            foreach (var (_, head) in hosts) await WaitFor(() => head.Last == expected);
        }
        finally
        {
            foreach (var w in writers) await w.StopAsync(CancellationToken.None);
        }
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("the watcher did not report the head");
            await Task.Delay(20);
        }
    }

    [SkippableFact]
    public async Task Recover_gives_the_next_sequence_and_only_the_events_inside_the_dedup_window_oldest_first()
    {
        await Fresh();
        _store.Recover(At).Should().BeEquivalentTo(new LogTail(1, []));
        _store.Append(1, At.AddHours(-2), [Event("old")], []);
        _store.Append(2, At.AddMinutes(-5), [Event("x"), Event("y")], []);
        _store.Append(4, At, [Event("z")], []);

        var tail = _store.Recover(At.AddHours(-1));
        tail.NextSequence.Should().Be(5);
        tail.Recent.Select(r => r.MessageId).Should().Equal("x", "y", "z");
        tail.Recent[0].At.Should().Be(At.AddMinutes(-5));
    }

    [SkippableFact]
    public async Task Readers_never_see_a_gap_while_several_hosts_append_at_once()
    {
        await Fresh();
        const int writers = 4, appendsEach = 60;
        var hosts = Enumerable.Range(0, writers).Select(_ => new PostgresDatabase(_connection)).ToList();
        using var stop = new CancellationTokenSource();
        var seen = new List<long>();
        var reader = Task.Run(() =>
        {
            var after = 0L;
            while (true)
            {
                var finished = stop.IsCancellationRequested; // read once more after the writers stopped
                foreach (var e in _store.ReadAfter(after, long.MaxValue, 500))
                {
                    e.Sequence.Should().Be(after + 1, "a reader that sees a sequence must see every one below it");
                    after = e.Sequence;
                    seen.Add(after);
                }
                if (finished) return;
            }
        });
        var firsts = new ConcurrentBag<(int Writer, long First)>();
        var appends = hosts.Select((host, w) => Task.Run(() =>
        {
            var store = new PostgresEventLogStore(host);
            for (var i = 0; i < appendsEach; i++)
            {
                var result = store.Append(1, At, [Event($"w{w}-{i}-a"), Event($"w{w}-{i}-b"), Event($"w{w}-{i}-c")], []);
                result.Stored.Should().Be(3);
                firsts.Add((w, result.First));
            }
        })).ToArray();
        await Task.WhenAll(appends);
        await stop.CancelAsync();
        await reader;
        foreach (var host in hosts) await host.DisposeAsync();

        seen.Should().Equal(Enumerable.Range(1, writers * appendsEach * 3).Select(i => (long)i));
        _store.ReadAfter(0, long.MaxValue, 10_000).Select(e => e.MessageId).Should().OnlyHaveUniqueItems();
        var order = firsts.OrderBy(f => f.First).Select(f => f.Writer).ToList();
        order.Zip(order.Skip(1)).Count(p => p.First != p.Second).Should().BeGreaterThan(writers,
            "the hosts' appends interleaved (else this test proves nothing about concurrent appends)");
    }

    [SkippableFact]
    public async Task A_PostgreSQL_sequence_would_let_a_reader_skip_an_event_that_commits_late()
    {
        // why the log never numbers with a PostgreSQL sequence (README, PostgreSQL): shown on a scratch table
        await Fresh();
        await using (var create = _data.CreateCommand("CREATE TABLE trap (seq bigserial PRIMARY KEY, v text)"))
            await create.ExecuteNonQueryAsync();
        await using var slow = await _data.OpenConnectionAsync();
        await using var slowTx = await slow.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand("INSERT INTO trap (v) VALUES ('late')", slow, slowTx)) await insert.ExecuteNonQueryAsync();
        await using (var fast = _data.CreateCommand("INSERT INTO trap (v) VALUES ('early')")) await fast.ExecuteNonQueryAsync();

        await using (var read = _data.CreateCommand("SELECT seq FROM trap WHERE seq > 0 ORDER BY seq"))
            ((long)(await read.ExecuteScalarAsync())!).Should().Be(2, "sequence 1 is taken but not committed: a reader at max(seq) = 2 moves past it");
        await slowTx.CommitAsync();
        await using var all = _data.CreateCommand("SELECT count(*) FROM trap");
        ((long)(await all.ExecuteScalarAsync())!).Should().Be(2);
    }
}
