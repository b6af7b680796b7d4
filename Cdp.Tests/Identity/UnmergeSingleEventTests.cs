using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Profiles.Projection;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Profiles;
using Cdp.Tests.Support;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Identity;

/// <summary>
/// One event carries a user id and an anonymous id (a login: Segment's SDKs send both on every call after identify).
/// After an unmerge the state must be what a full rebuild of the log gives with that merge refused: the unmerge stores
/// "at this event, the loser's identifiers do not join the winner" and the event goes to the winner without them.
/// </summary>
public sealed class UnmergeSingleEventTests
{
    private static string Event(int n, string type, string anonymousId, string? userId = null, string? email = null) =>
        "{\"type\":\"" + type + "\",\"messageId\":\"m-" + n + "\",\"timestamp\":\"2026-03-01T00:" + n.ToString("00") + ":00Z\",\"receivedAt\":\"2026-03-01T00:"
        + n.ToString("00") + ":00Z\",\"anonymousId\":\"" + anonymousId + "\"" + (userId is null ? "" : ",\"userId\":\"" + userId + "\"")
        + (type == "identify" ? ",\"traits\":{" + (email is null ? "" : "\"email\":\"" + email + "\"") + "}" : type == "page" ? ",\"name\":\"Home\"" : ",\"event\":\"Clicked\"")
        + "}";

    [Fact]
    public async Task Unmerging_a_login_merge_gives_an_anonymous_id_seen_before_on_its_own_back_to_its_own_profile()
    {
        using var host = new CdpHost();
        var db = host.Service<Cdp.Modules.Identity.Graph.IIdentityStore>(); // the merge records, on either provider
        await RebuildPropertyTests.Append(host,
        [
            Event(1, "identify", "laptop", userId: "kim"),   // p_1: the user
            Event(2, "page", "kiosk"),                       // p_2: a visitor on a shared kiosk
            Event(3, "identify", "kiosk", userId: "kim"),    // the login: p_2 merges into p_1 (m3-0)
            Event(4, "page", "kiosk"),                       // the kiosk alone: p_1 while merged
        ]);
        await host.Processed();
        Owner(db, "anonymous_id:kiosk").Should().Be(1);
        db.Merge("m3-0")!.Loser.Should().Be(2);

        (await host.Service<IProfileProcessor>().UnmergeAsync("m3-0", CancellationToken.None)).Should().NotBeNull();

        Owner(db, "anonymous_id:kiosk").Should().Be(2, "the kiosk's id had a profile of its own before the login, and the merge is refused");
        Owner(db, "user_id:kim").Should().Be(1);
        Timeline(host, 1).Should().Equal([1, 3], "the login goes to the older profile, the winner, without the loser's anonymous id");
        Timeline(host, 2).Should().Equal([2, 4]);
        await RebuildGivesTheSame(host);

        // the refusal is for that event's merge only: the next event that carries both ids again is a new merge (m5-0),
        // exactly as a full rebuild gives; unmerge it too if the kiosk is not Kim
        await RebuildPropertyTests.Append(host, [Event(5, "track", "kiosk", userId: "kim")]);
        await host.Processed();
        Owner(db, "anonymous_id:kiosk").Should().Be(1);
        db.Merge("m5-0")!.Loser.Should().Be(2);
        (await host.Service<IProfileProcessor>().UnmergeAsync("m5-0", CancellationToken.None)).Should().NotBeNull();
        Owner(db, "anonymous_id:kiosk").Should().Be(2);
        await RebuildGivesTheSame(host);
    }

    [Fact]
    public async Task After_an_unmerge_an_anonymous_id_first_seen_in_the_merging_event_stays_with_the_profile_that_event_went_to()
    {
        using var host = new CdpHost();
        var db = host.Service<Cdp.Modules.Identity.Graph.IIdentityStore>(); // the merge records, on either provider
        await RebuildPropertyTests.Append(host,
        [
            Event(1, "identify", "laptop", userId: "kim"),                        // p_1: the user
            Event(2, "identify", "phone", email: "kim@example.com"),              // p_2: an address
            Event(3, "identify", "tablet", userId: "kim", email: "kim@example.com"), // merges p_2 into p_1; "tablet" is new
            Event(4, "page", "tablet"),
        ]);
        await host.Processed();
        db.Merge("m3-0")!.Loser.Should().Be(2);
        Owner(db, "anonymous_id:tablet").Should().Be(1);

        (await host.Service<IProfileProcessor>().UnmergeAsync("m3-0", CancellationToken.None)).Should().NotBeNull();

        // the tablet's id was never a profile of its own: no merge brought it in, it arrived with the user id, so it
        // stays with the user, as in a rebuild where event 3 does not join p_2 (the address stays with p_2)
        Owner(db, "anonymous_id:tablet").Should().Be(1);
        Owner(db, "email:kim@example.com").Should().Be(2);
        Timeline(host, 1).Should().Equal([1, 3, 4]);
        Timeline(host, 2).Should().Equal([2]);
        await RebuildGivesTheSame(host);
    }

    [Fact]
    public async Task An_event_that_brings_a_user_id_and_a_new_anonymous_id_merges_nothing_so_there_is_nothing_to_unmerge()
    {
        using var host = new CdpHost();
        var db = host.Service<Cdp.Modules.Identity.Graph.IIdentityStore>(); // the merge records, on either provider
        await RebuildPropertyTests.Append(host,
        [
            Event(1, "identify", "laptop", userId: "kim"),
            Event(2, "identify", "tablet", userId: "kim"), // the tablet's id is first seen here: it joins p_1, no merge
        ]);
        await host.Processed();
        Owner(db, "anonymous_id:tablet").Should().Be(1);
        db.AllMerges().Count().Should().Be(0);
        (await host.Service<IProfileProcessor>().UnmergeAsync("m2-0", CancellationToken.None)).Should().BeNull();
    }

    /// <summary>The live profile holding an identifier: the profile that took it, followed along its merges.</summary>
    private static long Owner(Cdp.Modules.Identity.Graph.IIdentityStore db, string key)
    {
        var profile = db.Key(key)!.Profile;
        while (db.Node(profile) is { Into: not 0 } node) profile = node.Into;
        return profile;
    }

    private static List<long> Timeline(CdpHost host, long profile) =>
        ProfileTimeline.All(host.Service<Cdp.Modules.Profiles.Projection.IProfileStore>(), profile);

    private static async Task RebuildGivesTheSame(CdpHost host)
    {
        var db = host.Service<Cdp.Modules.Identity.Graph.IIdentityStore>(); // the merge records, on either provider
        var incremental = StoredState.IdentityAndProfiles(host.Services);
        await host.Service<IProfileProcessor>().ReprocessAsync(CancellationToken.None);
        await host.Processed();
        StoredState.IdentityAndProfiles(host.Services).Should().Be(incremental);
    }
}
