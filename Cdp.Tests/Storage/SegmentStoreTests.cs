using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Evaluation;
using Cdp.Modules.Segments.Membership;
using Cdp.Modules.Segments.Membership.LiteDb;
using Cdp.Modules.Segments.Membership.PostgreSql;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Tests.Storage;

/// <summary>Segment definitions, profile states, members, history and state behave the same on both providers (same cases, same assertions).</summary>
public sealed class SegmentStoreTests : IAsyncDisposable
{
    private static readonly DateTime At = new(2026, 12, 4, 14, 0, 0, DateTimeKind.Utc);
    private readonly ProviderDatabases _databases = new();

    public static TheoryData<string> Providers => ProviderDatabases.Providers;

    private async Task<(ISegmentStore Store, IUnitOfWorkFactory Transactions)> On(string provider)
    {
        var db = await _databases.OpenAsync(provider, new SegmentsPostgresSchema());
        var store = db.Lite is { } lite ? (ISegmentStore)new LiteSegmentStore(lite) : new PostgresSegmentStore(db.Postgres!);
        store.Prepare();
        return (store, db.Transactions);
    }

    private static T Locked<T>(ISegmentStore store, IUnitOfWorkFactory tx, Func<ISegmentWrites, T> work) => tx.InTransaction(t => work(store.Lock(t, At)));

    private static void Locked(ISegmentStore store, IUnitOfWorkFactory tx, Action<ISegmentWrites> work) => Locked(store, tx, w =>
    {
        work(w);
        return true;
    });

    private static SegmentDefinition Definition(string key, int no, bool built = false) =>
        new(key, no, SegmentOrigin.Api, "Name of " + key, "about \u0000 it", "traits.plan = \"gold\"", At, At.AddMinutes(1), built);

    private static ProfileSegmentState State(long profile, params int[] members)
    {
        var s = new ProfileSegmentState(profile);
        s.Counter("c1").Add(739_000, 3);
        s.Counter("c1").Add(739_002);
        s.Counter("c2").Add(739_001, 10);
        foreach (var m in members) s.Members.Add(m);
        return s;
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Definitions_are_found_in_any_case_replaced_and_numbers_are_never_reused(string provider)
    {
        var (store, tx) = await On(provider);
        Locked(store, tx, w =>
        {
            w.NextNumber().Should().Be(1);
            w.PutDefinition(Definition("Vip", 1));
            w.NextNumber().Should().Be(2);
            w.PutDefinition(Definition("churn", 2));
        });
        Locked(store, tx, w =>
        {
            w.Definition("VIP").Should().Be(Definition("Vip", 1), "keys are case-insensitive");
            w.PutDefinition(Definition("vip", 1, built: true));
            w.Definitions().Select(d => (d.Key, d.Built)).Should().BeEquivalentTo([("vip", true), ("churn", false)], "the other case was replaced");
            w.DeleteDefinition("CHURN");
            w.Definitions().Select(d => d.Key).Should().Equal("vip");
            w.NextNumber().Should().Be(3, "a deleted segment's number is not given again");
        });
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Profile_states_read_back_as_saved_in_ranges_and_a_failed_transaction_keeps_none(string provider)
    {
        var (store, tx) = await On(provider);
        Locked(store, tx, w =>
        {
            w.SaveState(State(5, 1, 3));
            w.SaveState(State(9));
            w.SaveState(State(70_000, 2));
        });
        var failing = () => Locked(store, tx, w =>
        {
            w.SaveState(State(6, 1));
            throw new IOException("the batch failed");
        });
        failing.Should().Throw<IOException>();

        var five = store.State(5)!;
        five.Members.Should().BeEquivalentTo([1, 3]);
        five.Counters["c1"].Days.Should().Equal((739_000, 3L), (739_002, 1L));
        five.Counters["c1"].Total.Should().Be(4);
        five.Counters["c2"].Count(0, 0, ever: true).Should().Be(10);
        store.State(6).Should().BeNull("its transaction rolled back");
        store.States(5, 9).Keys.Should().BeEquivalentTo([5L, 9L]);
        Locked(store, tx, w =>
        {
            w.StateIds().Should().BeEquivalentTo([5L, 9L, 70_000L]);
            w.States(6, 70_000).Keys.Should().BeEquivalentTo([9L, 70_000L]);
            w.DeleteState(9);
            w.State(9).Should().BeNull("the transaction reads its own writes");
        });
        store.State(9).Should().BeNull();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Members_page_in_ordinal_order_and_the_live_counts_and_kept_counters_are_kept(string provider)
    {
        var (store, tx) = await On(provider);
        Locked(store, tx, w =>
        {
            foreach (var id in new[] { "p_2", "p_10", "p_1", "p_300" }) w.AddMember(1, id, At);
            w.AddMember(2, "p_2", At.AddDays(1));
            w.RemoveMember(1, "p_300").Should().BeTrue();
            w.RemoveMember(1, "p_300").Should().BeFalse();
            var live = w.Live();
            live.Counts[1] = 3;
            live.Counts[2] = 1;
            live.Times[SegmentLive.RealTime] = At;
            w.SaveLive(live);
            w.SaveKeptCounters(new Dictionary<string, int> { ["c1"] = 30, ["c2"] = 7 });
        });

        store.MemberPage(1, "", 2).Should().Equal("p_1", "p_10");
        store.MemberPage(1, "p_10", 10).Should().Equal("p_2");
        store.MemberSince(2, "p_2").Should().Be(At.AddDays(1));
        store.MemberSince(2, "p_1").Should().BeNull();
        var stored = store.Live();
        (stored.Count(1), stored.Count(2), stored.Count(3), stored.Time(SegmentLive.RealTime), stored.Time(SegmentLive.Sweep)).Should().Be((3L, 1L, 0L, At, (DateTime?)null));
        store.KeptCounters().Should().BeEquivalentTo(new Dictionary<string, int> { ["c1"] = 30, ["c2"] = 7 });

        Locked(store, tx, w => w.ClearMembers(1));
        store.MemberPage(1, "", 10).Should().BeEmpty();
        store.MemberPage(2, "", 10).Should().Equal("p_2");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task History_pages_newest_first_per_segment_or_profile_and_an_erasure_removes_a_persons_entries(string provider)
    {
        var (store, tx) = await On(provider);
        Locked(store, tx, w =>
        {
            w.AppendHistory(new MembershipEntry(0, 1, "vip", 5, true, At, "event 5 (track \"Bought\u0000\")"));
            w.AppendHistory(new MembershipEntry(0, 2, "churn", 5, true, At, "event 5"));
            w.AppendHistory(new MembershipEntry(0, 1, "vip", 7, true, At, "event 7"));
            w.AppendHistory(new MembershipEntry(0, 1, "vip", 5, false, At.AddDays(1), "time passed (sweep)"));
        });

        var vip = store.History(1, null, null, 2);
        vip.Select(e => (e.Profile, e.Entered)).Should().Equal((5L, false), (7L, true));
        store.History(1, null, vip[^1].Id, 10).Select(e => e.Cause).Should().Equal("event 5 (track \"Bought\u0000\")");
        store.History(null, 5, null, 10).Select(e => e.Key).Should().Equal("vip", "churn", "vip");
        store.HistoryOf([5]).Select(e => e.Id).Should().BeInAscendingOrder().And.HaveCount(3);

        Locked(store, tx, w => w.DeleteHistoryOf([5]).Should().Be(3));
        store.History(null, null, null, 10).Select(e => e.Profile).Should().Equal(7);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_reset_empties_states_history_counts_and_members_but_keeps_the_definitions(string provider)
    {
        var (store, tx) = await On(provider);
        Locked(store, tx, w =>
        {
            w.PutDefinition(Definition("vip", 1, built: true));
            w.SaveState(State(5, 1));
            w.AddMember(1, "p_5", At);
            w.AppendHistory(new MembershipEntry(0, 1, "vip", 5, true, At, "event 5"));
            var live = w.Live();
            live.Counts[1] = 1;
            w.SaveLive(live);
            w.SaveKeptCounters(new Dictionary<string, int> { ["c1"] = 30 });
        });

        Locked(store, tx, w => w.Reset([1]));

        store.State(5).Should().BeNull();
        store.MemberPage(1, "", 10).Should().BeEmpty();
        store.History(null, null, null, 10).Should().BeEmpty();
        store.Live().Count(1).Should().Be(0);
        store.KeptCounters().Should().ContainKey("c1", "the counters' retention describes the states' shape, rebuilt by the replay");
        Locked(store, tx, w => w.Definitions().Should().ContainSingle());
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task The_segment_lock_makes_a_second_writer_wait_and_then_read_the_first_ones_commit(string provider)
    {
        var (store, tx) = await On(provider);
        using var locked = new ManualResetEventSlim();
        var first = Task.Run(() => Locked(store, tx, w =>
        {
            locked.Set();
            Thread.Sleep(400);
            w.SaveState(State(42, 1));
        }));
        locked.Wait(TimeSpan.FromSeconds(10)).Should().BeTrue();
        var seen = await Task.Run(() => Locked(store, tx, w => w.State(42)));
        await first;
        seen.Should().NotBeNull("the second transaction waited for the lock, and read after the first committed");
    }

    public ValueTask DisposeAsync() => _databases.DisposeAsync();
}
