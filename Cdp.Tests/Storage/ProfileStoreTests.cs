using Cdp.Modules.Profiles;
using Cdp.Modules.Profiles.Projection;
using Cdp.Modules.Profiles.Projection.LiteDb;
using Cdp.Modules.Profiles.Projection.PostgreSql;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Tests.Storage;

/// <summary>Profiles, their timeline chunks and accounts behave the same on both providers (same cases, same assertions).</summary>
public sealed class ProfileStoreTests : IAsyncDisposable
{
    private static readonly DateTime At = new(2026, 12, 4, 15, 0, 0, DateTimeKind.Utc);
    private static readonly ProfileLimits Limits = new ProfilesOptions().Limits;
    private readonly ProviderDatabases _databases = new();

    public static TheoryData<string> Providers => ProviderDatabases.Providers;

    private async Task<(IProfileStore Store, IUnitOfWorkFactory Transactions)> On(string provider)
    {
        var db = await _databases.OpenAsync(provider, new ProfilesPostgresSchema());
        return (db.Lite is { } lite ? new LiteProfileStore(lite) : new PostgresProfileStore(db.Postgres!), db.Transactions);
    }

    private static ProfileState Profile(long no, string plan, params string[] groups)
    {
        var p = new ProfileState(no) { First = At, Last = At.AddHours(1), Events = 3, IsNew = true };
        p.Traits["plan"] = plan;
        p.Traits["name"] = "Ann\u0000B";
        p.Traits["address"] = new TreeDocument { ["city"] = "Paris", ["zip"] = 75001 };
        p.TraitTimes["plan"] = At.Ticks;
        p.EventCounts["Bought"] = 2L;
        p.Groups = groups.ToList();
        p.Recent = [no, no + 5, no + 9];
        p.RecentTimes = [At.Ticks, At.Ticks + 1, At.Ticks + 2];
        return p;
    }

    private static void Write(IUnitOfWorkFactory tx, IProfileStore store, ProfileChanges changes) => tx.InTransaction(t =>
    {
        store.Write(t, changes);
        return true;
    });

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Profiles_read_back_as_written_and_merged_away_ones_leave_the_live_list(string provider)
    {
        var (store, tx) = await On(provider);
        Write(tx, store, new ProfileChanges { NewProfiles = [Profile(1, "gold"), Profile(2, "free"), Profile(3, "gold")] });
        Write(tx, store, new ProfileChanges { ChangedProfiles = [new ProfileState(2) { Into = 1 }] });

        var one = store.Profile(1)!;
        one.Traits["name"].AsString.Should().Be("Ann\u0000B");
        one.Traits["address"]["zip"].AsInt32.Should().Be(75001);
        (one.First, one.Last, one.Events, one.EventCounts["Bought"].AsInt64).Should().Be((At, At.AddHours(1), 3L, 2L));
        one.Recent.Should().Equal(1, 6, 10);
        store.Profile(2)!.Into.Should().Be(1);
        store.Profile(4).Should().BeNull();
        store.LiveAfter(0, 10).Select(p => p.Profile).Should().Equal(1, 3);
        store.LiveAfter(1, 1).Select(p => p.Profile).Should().Equal(3);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Traits_are_searched_as_values_or_text_and_accounts_list_their_members(string provider)
    {
        var (store, tx) = await On(provider);
        Write(tx, store, new ProfileChanges { NewProfiles = [Profile(1, "gold", "acme"), Profile(2, "free", "acme", "globex"), Profile(3, "gold")] });

        store.LiveWithTrait("plan", "gold").Select(p => p.Profile).Should().Equal(1, 3);
        store.LiveWithTrait("address.zip", "75001").Select(p => p.Profile).Should().Equal(1, 2, 3);
        store.LiveWithTrait("plan", "silver").Should().BeEmpty();
        store.AccountMembers("acme").Should().Equal(1, 2);
        store.AccountMembers("initech").Should().BeEmpty();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_trait_search_matches_text_ignoring_case_and_numbers_and_booleans_by_value_on_every_store(string provider)
    {
        var (store, tx) = await On(provider);
        var a = Profile(1, "Gold");
        a.Traits["orders"] = 42L;
        a.Traits["vip"] = true;
        a.Traits["score"] = 4.5;
        var b = Profile(2, "gold");
        b.Traits["orders"] = 1e300; // a number no decimal holds: compared as a double, never an error
        b.Traits["vip"] = "true";
        var c = Profile(3, "42");
        Write(tx, store, new ProfileChanges { NewProfiles = [a, b, c] });

        store.LiveWithTrait("plan", "GOLD").Select(p => p.Profile).Should().Equal(1, 2);
        store.LiveWithTrait("orders", "42").Select(p => p.Profile).Should().Equal(1);
        store.LiveWithTrait("orders", "42.0").Select(p => p.Profile).Should().Equal(1);
        store.LiveWithTrait("orders", "1e300").Should().BeEmpty("a number beyond ±7.9e28 is searched as text only");
        store.LiveWithTrait("score", "4.5").Select(p => p.Profile).Should().Equal(1);
        store.LiveWithTrait("vip", "true").Select(p => p.Profile).Should().Equal(1, 2);
        store.LiveWithTrait("plan", "42").Select(p => p.Profile).Should().Equal(3);
        foreach (var p in new[] { a, b, c })
            foreach (var (path, text) in new[] { ("plan", "GOLD"), ("orders", "42"), ("vip", "true"), ("score", "4.5"), ("plan", "42"), ("orders", "x") })
                p.HasTraitValue(path, text).Should().Be(store.LiveWithTrait(path, text).Any(x => x.Profile == p.Profile),
                    $"the in-memory rule and the store's query agree on profile {p.Profile}, {path} = {text}");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Timeline_chunks_are_kept_per_profile_and_cleared_with_it(string provider)
    {
        var (store, tx) = await On(provider);
        var part = new TimelinePart(Varint.Encode([1, 2, 3]), EventTimes.Encode([At.Ticks, At.Ticks, At.Ticks]));
        Write(tx, store, new ProfileChanges
        {
            NewProfiles = [Profile(1, "gold"), Profile(2, "gold")],
            Chunks = [(ProfileSchema.ChunkId(1, 0), part), (ProfileSchema.ChunkId(1, 1), part), (ProfileSchema.ChunkId(2, 0), part)],
        });
        store.Chunk(1, 1)!.Sequences.Should().Equal(part.Sequences);
        store.Chunk(1, 2).Should().BeNull();

        Write(tx, store, new ProfileChanges { Chunks = [(ProfileSchema.ChunkId(1, 1), null)] });
        store.Chunk(1, 1).Should().BeNull();
        Write(tx, store, new ProfileChanges { DeletedProfiles = [1], ClearedTimelines = [1] });
        store.Profile(1).Should().BeNull();
        store.Chunk(1, 0).Should().BeNull();
        store.Chunk(2, 0).Should().NotBeNull("another profile's chunks stay");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Accounts_keep_their_traits_and_a_late_event_is_sorted_into_the_timeline_in_the_transaction(string provider)
    {
        var (store, tx) = await On(provider);
        var acme = AccountState.From(null, Limits);
        acme.Traits["industry"] = "rockets \u0000";
        var late = Profile(1, "gold");
        late.Recent = [4, 9, 2];
        late.RecentTimes = [40, 90, 20];
        Write(tx, store, new ProfileChanges { NewProfiles = [late], Accounts = [("acme\u0000", acme)] });

        store.Account("acme\u0000", Limits)!.Traits["industry"].AsString.Should().Be("rockets \u0000");
        store.Account("acme", Limits).Should().BeNull();
        tx.InTransaction(t =>
        {
            LateTimeline.Sort(store, t, 1);
            return true;
        });
        var sorted = store.Profile(1)!;
        sorted.Recent.Should().Equal(2, 4, 9);
        sorted.RecentTimes.Should().Equal(20, 40, 90);
        sorted.Traits["plan"].AsString.Should().Be("gold", "only the timeline changes");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task An_erasure_counts_live_and_merged_away_records_and_a_reset_empties_everything(string provider)
    {
        var (store, tx) = await On(provider);
        var part = new TimelinePart(Varint.Encode([1]), EventTimes.Encode([At.Ticks]));
        Write(tx, store, new ProfileChanges
        {
            NewProfiles = [Profile(1, "gold"), new ProfileState(2) { Into = 1, IsNew = true }, Profile(3, "free")],
            Chunks = [(ProfileSchema.ChunkId(1, 0), part)],
            Accounts = [("acme", AccountState.From(null, Limits))],
        });

        tx.InTransaction(t => store.Erase(t, [1, 2, 9])).Should().Be((1L, 1L));
        store.Chunk(1, 0).Should().BeNull();
        store.LiveAfter(0, 10).Select(p => p.Profile).Should().Equal(3);

        tx.InTransaction(t =>
        {
            store.Reset(t);
            return true;
        });
        store.LiveAfter(0, 10).Should().BeEmpty();
        store.Account("acme", Limits).Should().BeNull();
    }

    public ValueTask DisposeAsync() => _databases.DisposeAsync();
}
