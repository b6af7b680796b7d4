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
    private NpgsqlDataSource _data = null!;
    private PostgresEventLogStore _store = null!;
    private static readonly DateTime At = new(2026, 12, 3, 10, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// A fresh database of the test cluster with Collection's tables, made by the module's own migrations (skips, or fails
    /// under CI, without PostgreSQL).
    /// </summary>
    private async Task Fresh()
    {
        _database = new PostgresDatabase(await PostgresServer.CreateDatabaseAsync());
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
        _store.Contains(4).Should().BeTrue();
        _store.Contains(5).Should().BeFalse();
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
    public async Task An_append_that_does_not_continue_the_log_is_refused_and_stores_nothing()
    {
        await Fresh();
        _store.Append(1, At, [Event("a"), Event("b")], []);

        var reused = () => _store.Append(2, At, [Event("c")], [new RejectedEvent("web", 1, [new EventError(1, "type", "missing")], "{}")]);
        reused.Should().Throw<InvalidOperationException>().WithMessage("*another writer appends to this event log*newest event is 2*next 2*");
        var skipping = () => _store.Append(7, At, [Event("d")], []);
        skipping.Should().Throw<InvalidOperationException>();
        _store.ReadAfter(0, long.MaxValue, 10).Select(e => e.MessageId).Should().Equal("a", "b");
        using var deadLetters = _data.CreateCommand("SELECT count(*) FROM cdp_dead_letters");
        ((long)deadLetters.ExecuteScalar()!).Should().Be(0, "the refused append's dead letters roll back with it");
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
    public async Task Readers_never_see_a_gap_while_several_writers_append_at_once()
    {
        await Fresh();
        const int writers = 4, appendsEach = 60;
        var stores = Enumerable.Range(0, writers).Select(_ => new PostgresEventLogStore(_database)).ToList();
        var refusals = 0;
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
        var appends = stores.Select((store, w) => Task.Run(() =>
        {
            for (var i = 0; i < appendsEach; i++)
            {
                while (true)
                {
                    var next = store.Recover(DateTime.MaxValue).NextSequence;
                    try
                    {
                        store.Append(next, At, [Event($"w{w}-{i}-a"), Event($"w{w}-{i}-b"), Event($"w{w}-{i}-c")], []);
                        break;
                    }
                    catch (InvalidOperationException)
                    {
                        Interlocked.Increment(ref refusals); // another writer got there first: number again
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(appends);
        await stop.CancelAsync();
        await reader;

        seen.Should().Equal(Enumerable.Range(1, writers * appendsEach * 3).Select(i => (long)i));
        _store.ReadAfter(0, long.MaxValue, 10_000).Select(e => e.MessageId).Should().OnlyHaveUniqueItems();
        refusals.Should().BeGreaterThan(0, "the writers did race for the same sequence numbers (else this test proves nothing)");
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
