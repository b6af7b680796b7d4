using System.Text;
using Cdp.Modules.Collection.DeadLetters;
using Cdp.Modules.Collection.DeadLetters.LiteDb;
using Cdp.Modules.Collection.DeadLetters.PostgreSql;
using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Collection.EventLog.LiteDb;
using Cdp.Modules.Collection.EventLog.PostgreSql;
using Cdp.Modules.Collection.Import;
using Cdp.Modules.Collection.Import.LiteDb;
using Cdp.Modules.Collection.Import.PostgreSql;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Collection.Statistics;
using Cdp.Modules.Collection.Statistics.LiteDb;
using Cdp.Modules.Collection.Statistics.PostgreSql;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Tests.Storage;

/// <summary>
/// The Collection module's stores behave the same on both providers: each case runs on a LiteDB file and on a PostgreSQL
/// database of the test cluster, through the same interface, and must give the same answers.
/// </summary>
public sealed class CollectionStoresTests : IAsyncDisposable
{
    private static readonly DateTime At = new(2026, 12, 3, 10, 0, 0, DateTimeKind.Utc);
    private readonly ProviderDatabases _databases = new();

    public static TheoryData<string> Providers => ProviderDatabases.Providers;

    private sealed record Stores(IEventLogStore Log, IDeadLetterStore DeadLetters, IImportLedger Ledger, IIngestStatisticsStore Statistics,
        Func<Func<IUnitOfWork, long>, long> InTransaction);

    private async Task<Stores> On(string provider)
    {
        var db = await _databases.OpenAsync(provider, new CollectionPostgresSchema());
        if (db.Lite is { } lite)
            return new Stores(new LiteEventLogStore(lite), new LiteDeadLetterStore(lite), new LiteImportLedger(lite), new LiteIngestStatisticsStore(lite), db.InTransaction);
        var data = db.Postgres!;
        return new Stores(new PostgresEventLogStore(data), new PostgresDeadLetterStore(data), new PostgresImportLedger(data), new PostgresIngestStatisticsStore(data),
            db.InTransaction);
    }

    private static AcceptedEvent Event(string messageId) => new("web", messageId, Encoding.UTF8.GetBytes($$"""{"type":"identify","messageId":"{{messageId}}","userId":"u-{{messageId}}"}"""));

    private static RejectedEvent Refused(int index, string raw) => new("web", index, [new EventError(index, "type", "unknown type")], raw);

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Erasure_rewrites_the_named_events_in_its_transaction_and_leaves_the_others(string provider)
    {
        var s = await On(provider);
        s.Log.Append(1, At, [Event("a"), Event("b"), Event("c")], []);
        s.Log.Append(4, At, [Event("d")], []);

        var rewritten = s.InTransaction(tx => s.Log.Rewrite(tx, [2, 4, 99], _ => """{"erased":true}"""u8.ToArray()));

        rewritten.Should().Be(2, "sequence 99 does not exist");
        var events = s.Log.ReadAfter(0, long.MaxValue, 10);
        events.Select(e => Encoding.UTF8.GetString(e.Json.Span)).Should().Equal(
            Encoding.UTF8.GetString(Event("a").Json), """{"erased":true}""", Encoding.UTF8.GetString(Event("c").Json), """{"erased":true}""");
        events.Select(e => e.MessageId).Should().Equal("a", "b", "c", "d");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task An_erasure_that_fails_leaves_the_events_as_they_were(string provider)
    {
        var s = await On(provider);
        s.Log.Append(1, At, [Event("a")], []);
        var failing = () => s.InTransaction(tx =>
        {
            s.Log.Rewrite(tx, [1], _ => """{"erased":true}"""u8.ToArray());
            throw new IOException("the disk went away");
        });
        failing.Should().Throw<IOException>();
        Encoding.UTF8.GetString(s.Log.ReadAfter(0, 1, 1)[0].Json.Span).Should().Contain("u-a");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Dead_letters_page_newest_first_and_delete_in_the_callers_transaction(string provider)
    {
        var s = await On(provider);
        s.Log.Append(1, At, [], [Refused(0, "{\"first\":1}"), Refused(1, "not json \u0000 at all")]);
        s.Log.Append(1, At.AddSeconds(1), [], [Refused(0, "{\"third\":3}")]);

        var newest = s.DeadLetters.Newest(null, 2);
        newest.Select(d => d.Raw).Should().Equal("{\"third\":3}", "not json \u0000 at all");
        newest[0].Errors.Should().Equal(new DeadLetterError("type", "unknown type"));
        newest[0].ReceivedAt.Should().Be(At.AddSeconds(1));
        s.DeadLetters.Newest(newest[^1].Id, 10).Select(d => d.Raw).Should().Equal("{\"first\":1}");

        s.InTransaction(tx => s.DeadLetters.Delete(tx, [newest[1].Id, 12345])).Should().Be(1);
        s.DeadLetters.All().Select(d => d.Raw).Should().BeEquivalentTo("{\"first\":1}", "{\"third\":3}");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task The_import_ledger_remembers_recorded_messageIds_and_recording_twice_is_harmless(string provider)
    {
        var s = await On(provider);
        s.Ledger.Seen(["r1", "r2"]).Should().BeEmpty();
        s.Ledger.Record(["r1", "r2", "é\u0000"]);
        s.Ledger.Record(["r2", "r3"]);
        s.Ledger.Seen(["r0", "r2", "r3", "é\u0000"]).Should().BeEquivalentTo("r2", "r3", "é\u0000");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Ingest_counters_replace_their_hour_and_hours_before_the_oldest_go(string provider)
    {
        var s = await On(provider);
        s.Statistics.Save(new Dictionary<long, long[]> { [10] = [1, 2, 3], [11] = [4, 5, 6] }, oldestHour: 0);
        s.Statistics.Save(new Dictionary<long, long[]> { [11] = [7, 8, 9], [12] = [1] }, oldestHour: 11);

        var hours = s.Statistics.Load(0);
        hours.Keys.Should().BeEquivalentTo([11L, 12L]);
        hours[11].Should().Equal(7, 8, 9);
        s.Statistics.Load(12).Keys.Should().Equal(12L);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Ingest_counters_added_by_two_hosts_sum_minute_by_minute_and_hours_before_the_oldest_go(string provider)
    {
        var s = await On(provider);
        s.Statistics.Add(new Dictionary<long, long[]> { [10] = [1, 2, 3], [11] = [4, 5, 6] }, oldestHour: 0);
        s.Statistics.Add(new Dictionary<long, long[]> { [11] = [10, 20, 30], [12] = [1] }, oldestHour: 0); // the other host
        s.Statistics.Add(new Dictionary<long, long[]> { [12] = [0, 7] }, oldestHour: 11);

        var hours = s.Statistics.Load(0);
        hours.Keys.Should().BeEquivalentTo([11L, 12L]);
        hours[11].Should().Equal(14, 25, 36);
        hours[12].Should().Equal(1, 7);
    }

    public ValueTask DisposeAsync() => _databases.DisposeAsync();
}
