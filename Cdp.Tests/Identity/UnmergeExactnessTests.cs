using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Profiles;
using Cdp.Tests.Support;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Identity;

/// <summary>
/// Minimal cases shrunk from the random unmerge property (Profiles/RebuildPropertyTests): after an unmerge, the state must
/// equal a full reprocess of the log with every stored unmerge decision applied.
/// </summary>
public sealed class UnmergeExactnessTests
{
    /// <summary>An identify at minute <paramref name="n"/> (messageId m-n) from an anonymous id, with an optional user id and traits.</summary>
    private static string Identify(int n, string anonymousId, string traits, string? userId = null) =>
        "{\"type\":\"identify\",\"messageId\":\"m-" + n + "\",\"timestamp\":\"2026-03-01T00:" + n.ToString("00") + ":00Z\",\"receivedAt\":\"2026-03-01T00:"
        + n.ToString("00") + ":00Z\",\"anonymousId\":\"" + anonymousId + "\"" + (userId is null ? "" : ",\"userId\":\"" + userId + "\"") + ",\"traits\":{" + traits + "}}";

    [Fact]
    public async Task Unmerging_the_same_merge_id_twice_keeps_both_decisions_after_a_reprocess()
    {
        using var host = new CdpHost();
        var db = host.Service<Cdp.Modules.Identity.Graph.IIdentityStore>(); // the identity records, on either provider
        var processor = host.Service<IProfileProcessor>();
        // p_1, p_2 (email), p_3 (user id); event 4 carries all three identifiers: p_2 and p_3 merge into p_1 (m4-0, m4-1)
        await RebuildPropertyTests.Append(host,
        [
            Identify(1, "a1", "\"name\":\"Ann\""),
            Identify(2, "a2", "\"email\":\"ben@example.com\""),
            Identify(3, "a3", "\"name\":\"Cat\"", userId: "cat"),
            Identify(4, "a1", "\"email\":\"ben@example.com\"", userId: "cat"),
        ]);
        await host.Processed();
        Loser(db, "m4-0").Should().Be(2);
        Loser(db, "m4-1").Should().Be(3);

        (await processor.UnmergeAsync("m4-0", CancellationToken.None)).Should().NotBeNull();
        // event 4 no longer joins p_2; it still joins p_3, and that merge now has the first index of the event
        Loser(db, "m4-0").Should().Be(3, "the replay numbers event 4's only remaining merge m4-0");
        (await processor.UnmergeAsync("m4-0", CancellationToken.None)).Should().NotBeNull();
        db.AllMerges().Count().Should().Be(0);

        var incremental = StoredState.IdentityAndProfiles(host.Services);
        await processor.ReprocessAsync(CancellationToken.None);
        await host.Processed();
        StoredState.IdentityAndProfiles(host.Services).Should().Be(incremental, "both unmerges of event 4 are decisions a reprocess must keep");
        db.AllMerges().Count().Should().Be(0);
    }

    [Fact]
    public async Task An_unmerge_also_replays_the_events_that_carried_an_identifier_a_quarantined_profile_could_not_take()
    {
        using var host = new CdpHost(new Dictionary<string, string?> { ["Cdp:Identity:MaxMergesPerProfile"] = "1" });
        var db = host.Service<Cdp.Modules.Identity.Graph.IIdentityStore>(); // the identity records, on either provider
        var processor = host.Service<IProfileProcessor>();
        const string Kim = "\"email\":\"kim@example.com\"";
        await RebuildPropertyTests.Append(host,
        [
            // p_1 takes two merges (events 4 and 5): past MaxMergesPerProfile=1, so it is quarantined
            Identify(1, "q1", ""), Identify(2, "q2", "\"email\":\"q@example.com\""), Identify(3, "q3", "", userId: "uq"),
            Identify(4, "q1", "\"email\":\"q@example.com\""), Identify(5, "q1", "", userId: "uq"),
            // p_6 likewise (events 8 and 10)
            Identify(6, "x1", ""), Identify(7, "x2", "\"email\":\"x@example.com\""), Identify(8, "x1", "\"email\":\"x@example.com\""),
            Identify(9, "x3", "", userId: "ux"), Identify(10, "x1", "", userId: "ux"),
            // kim's address reaches both quarantined profiles first: neither may take it, so nobody owns it yet
            Identify(11, "q1", Kim), Identify(12, "x1", Kim),
            // then it starts a profile of its own
            Identify(13, "g1", Kim),
        ]);
        await host.Processed();
        db.AllQuarantine().Count().Should().Be(2);
        db.Key("email:kim@example.com")!.Profile.Should().Be(13);

        // without merge m5-0, p_1 is not quarantined: event 11 gives it kim's address, and events 12 and 13 follow
        (await processor.UnmergeAsync("m5-0", CancellationToken.None)).Should().NotBeNull();
        db.Key("email:kim@example.com")!.Profile.Should().Be(1);
        var incremental = StoredState.IdentityAndProfiles(host.Services);
        await processor.ReprocessAsync(CancellationToken.None);
        await host.Processed();
        StoredState.IdentityAndProfiles(host.Services).Should().Be(incremental);
    }

    [Fact]
    public async Task An_unmerge_also_replays_an_alias_whose_previous_id_becomes_a_known_user_id()
    {
        using var host = new CdpHost(new Dictionary<string, string?> { ["Cdp:Identity:MaxMergesPerProfile"] = "1" });
        var db = host.Service<Cdp.Modules.Identity.Graph.IIdentityStore>(); // the identity records, on either provider
        var processor = host.Service<IProfileProcessor>();
        await RebuildPropertyTests.Append(host,
        [
            // p_1 quarantined after its two merges (events 4 and 5), as above
            Identify(1, "q1", ""), Identify(2, "q2", "\"email\":\"q@example.com\""), Identify(3, "q3", "", userId: "uq"),
            Identify(4, "q1", "\"email\":\"q@example.com\""), Identify(5, "q1", "", userId: "uq"),
            // user id kim reaches quarantined p_1 first, so nobody owns it ...
            Identify(6, "q1", "", userId: "kim"),
            // ... and this alias takes "kim" for an anonymous id (Segment's rule for an unknown previousId): profile p_7
            """{"type":"alias","messageId":"m-7","timestamp":"2026-03-01T00:07:00Z","receivedAt":"2026-03-01T00:07:00Z","previousId":"kim","userId":"zed"}""",
        ]);
        await host.Processed();
        db.Key("anonymous_id:kim")!.Profile.Should().Be(7);

        // without merge m5-0, p_1 takes user id kim at event 6, so the alias's previousId is that user id (and the
        // user_id limit keeps zed apart): the alias must be replayed although, as logged, it never carried user_id:kim
        (await processor.UnmergeAsync("m5-0", CancellationToken.None)).Should().NotBeNull();
        db.Key("user_id:kim")!.Profile.Should().Be(1);
        (db.Key("anonymous_id:kim") is null).Should().BeTrue("the alias now carries user_id:kim instead");
        var incremental = StoredState.IdentityAndProfiles(host.Services);
        await processor.ReprocessAsync(CancellationToken.None);
        await host.Processed();
        StoredState.IdentityAndProfiles(host.Services).Should().Be(incremental);
    }

    private static long Loser(Cdp.Modules.Identity.Graph.IIdentityStore db, string mergeId) => db.Merge(mergeId)?.Loser ?? 0;
}
