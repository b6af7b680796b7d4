using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Identity;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Identity.Graph;
using Cdp.Modules.Identity.Graph.LiteDb;
using Cdp.Modules.Identity.Graph.PostgreSql;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Storage;

/// <summary>The identity graph's records behave the same on both providers (same cases, same assertions), and so does the graph on top of them.</summary>
public sealed class IdentityStoreTests : IAsyncDisposable
{
    private static readonly DateTime At = new(2026, 12, 4, 9, 30, 0, DateTimeKind.Utc);
    private readonly ProviderDatabases _databases = new();

    public static TheoryData<string> Providers => ProviderDatabases.Providers;

    private async Task<(IIdentityStore Store, IUnitOfWorkFactory Transactions)> On(string provider)
    {
        var db = await _databases.OpenAsync(provider, new IdentityPostgresSchema());
        return (db.Lite is { } lite ? new LiteIdentityStore(lite) : new PostgresIdentityStore(db.Postgres!), db.Transactions);
    }

    private static IdentityNode Live(long profile, params string[] keys)
    {
        var n = new IdentityNode(profile) { IsNew = true };
        foreach (var k in keys) n.Ids.Add(new NodeIdentifier(k, At, At.AddDays(1)));
        return n;
    }

    private static MatchEvidence Evidence(string left, string right) =>
        new(0.97, 5.25, "auto", [new MatchComparison("email", "exact", 4.5, left, right), new MatchComparison("name", "else", -1.25, null, "B\u0000b")], "p_1/p_9 agree");

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Nodes_keys_and_merges_read_back_as_written_even_with_a_NUL_in_an_identifier(string provider)
    {
        var (store, tx) = await On(provider);
        var one = Live(1, "user_id:ann\u0000x", "email:ann@example.com");
        one.Merges = 1;
        one.Absorbed = [5];
        one.Touches = [3, 7, 4_000_000_000];
        one.MergeIds = ["m5-0"];
        one.Quarantine = "more than 2 merges (MaxMergesPerProfile)";
        var merged = new IdentityNode(5) { Into = 1 };
        var merge = new MergeRecord("m5-0", 1, 5, "deterministic:user_id+email", "email:ann@example.com", "user_id:ann\u0000x", 5, "web", "msg\u00005", At, Evidence("a", "b"));
        tx.InTransaction(t => store.Write(t, new IdentityChanges
        {
            NewNodes = [one, merged],
            NewKeys = [new KeyRecord("user_id:ann\u0000x", 1), new KeyRecord("email:ann@example.com", 5) { Joins = 1 }],
            Merges = [merge with { Loser = 99 }, merge],
        }));

        store.Node(1).Should().BeEquivalentTo(one, o => o.Excluding(n => n.IsNew));
        store.Node(5)!.Into.Should().Be(1);
        store.Node(6).Should().BeNull();
        store.LiveNodes().Select(n => n.Profile).Should().Equal(1);
        store.Key("user_id:ann\u0000x")!.Profile.Should().Be(1);
        store.Key("email:ann@example.com").Should().BeEquivalentTo(new KeyRecord("email:ann@example.com", 5) { Joins = 1 });
        store.Key("user_id:ann").Should().BeNull("a key is its exact text, NUL and all");
        store.Merge("m5-0").Should().BeEquivalentTo(merge, "the later of two records with one id wins");
        store.Merge("m6-0").Should().BeNull();

        var changed = store.Node(1)!;
        changed.Ids.Add(new NodeIdentifier("phone:+4420", At.AddDays(2), At.AddDays(3)));
        tx.InTransaction(t => store.Write(t, new IdentityChanges
        {
            ChangedNodes = [changed], DeletedNodes = [5], DeletedKeys = ["email:ann@example.com"], DeletedMerges = ["m5-0"],
            ChangedKeys = [new KeyRecord("phone:+4420", 1)],
        }));
        store.Node(1)!.Ids.Select(i => i.Key).Should().Equal("user_id:ann\u0000x", "email:ann@example.com", "phone:+4420");
        store.Node(5).Should().BeNull();
        store.Key("email:ann@example.com").Should().BeNull();
        store.Key("phone:+4420")!.Profile.Should().Be(1);
        store.Merge("m5-0").Should().BeNull();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_batch_that_fails_after_writing_leaves_the_graph_as_it_was(string provider)
    {
        var (store, tx) = await On(provider);
        tx.InTransaction(t => store.Write(t, new IdentityChanges { NewNodes = [Live(1, "email:a@x.io")], NewKeys = [new KeyRecord("email:a@x.io", 1)] }));
        var failing = () => tx.InTransaction<bool>(t =>
        {
            store.Write(t, new IdentityChanges { NewNodes = [Live(2, "email:b@x.io")], DeletedKeys = ["email:a@x.io"], NewKeys = [new KeyRecord("email:b@x.io", 2)] });
            throw new IOException("the profiles' write failed after identity's");
        });
        failing.Should().Throw<IOException>();
        store.Node(2).Should().BeNull();
        store.Key("email:b@x.io").Should().BeNull();
        store.Key("email:a@x.io")!.Profile.Should().Be(1);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Quarantine_unmerges_carriers_and_links_are_kept_and_paged_in_sequence_order(string provider)
    {
        var (store, tx) = await On(provider);
        var hash = IdentitySchema.Hash("anonymous_id:zed");
        tx.InTransaction(t => store.Write(t, new IdentityChanges
        {
            Quarantine =
            [
                new QuarantineRecord("key:email:\u0000blob@x.io", "identifier", "email:\u0000blob@x.io", 3, "joined 50 profiles", 30, At),
                new QuarantineRecord("profile:7", "profile", "p_7", 7, "more than 100 identifiers", 10, At),
                new QuarantineRecord("profile:8", "profile", "p_8", 8, "more than 100 identifiers", 20, At),
            ],
            Unmerge = new UnmergeDirective("m4-0", 4, 2, At),
            Carriers = [(hash, [4L, 9L])],
            Links = [new LinkRecord("lnk-1", 1, 9, 12, 1, At, LinkStatus.Applied, Evidence("x", "y")), new LinkRecord("lnk-2", 3, 4, 12, 2, At, LinkStatus.Pending, Evidence("p", "q"))],
        }));
        tx.InTransaction(t => store.Write(t, new IdentityChanges { Unmerge = new UnmergeDirective("m4-0", 4, 3, At.AddMinutes(1)) }));

        store.Quarantined("identifier").Select(q => q.Subject).Should().Equal("email:\u0000blob@x.io");
        store.Quarantined("profile").Select(q => q.Profile).Should().BeEquivalentTo([7L, 8L]);
        store.QuarantinePage(0, 2).Select(q => q.Sequence).Should().Equal(10, 20);
        store.QuarantinePage(2, 5).Select(q => q.Id).Should().Equal("key:email:\u0000blob@x.io");
        store.QuarantineEntry("profile:8")!.Reason.Should().Be("more than 100 identifiers");
        store.Unmerges().Should().BeEquivalentTo([new UnmergeDirective("m4-0", 4, 2, At), new UnmergeDirective("m4-0", 4, 3, At.AddMinutes(1))],
            "two unmerges of the same merge id at one event are two decisions");
        store.Carriers().Should().ContainSingle().Which.Should().BeEquivalentTo((hash, new List<long> { 4, 9 }));
        store.Links().Select(l => l.Id).Should().BeEquivalentTo(["lnk-1", "lnk-2"]);
        store.Links(LinkStatus.Pending).Should().ContainSingle().Which.Evidence.Should().BeEquivalentTo(Evidence("p", "q"));

        tx.InTransaction(t => store.Write(t, new IdentityChanges
        {
            DeletedQuarantine = ["profile:7"], Carriers = [(hash, [])], UndoneLink = "lnk-1", UndoneAt = At.AddHours(1),
        }));
        store.QuarantinePage(0, 10).Select(q => q.Id).Should().Equal("profile:8", "key:email:\u0000blob@x.io");
        store.Carriers().Should().BeEmpty("an empty carrier list removes the entry");
        var undone = store.Links(LinkStatus.Undone).Should().ContainSingle().Subject;
        (undone.Id, undone.Note).Should().Be(("lnk-1", $"unmerged {At.AddHours(1):O}"));
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_reset_empties_the_graph_but_keeps_the_decisions_and_reopens_the_links_not_undone(string provider)
    {
        var (store, tx) = await On(provider);
        tx.InTransaction(t => store.Write(t, new IdentityChanges
        {
            NewNodes = [Live(1, "email:a@x.io")], NewKeys = [new KeyRecord("email:a@x.io", 1)],
            Merges = [new MergeRecord("m2-0", 1, 2, "r", "k", "v", 2, "web", "m", At)],
            Quarantine = [new QuarantineRecord("profile:1", "profile", "p_1", 1, "r", 1, At)],
            Unmerge = new UnmergeDirective("m2-0", 2, 2, At),
            Carriers = [(IdentitySchema.Hash("anonymous_id:z"), [1L])],
            Links =
            [
                new LinkRecord("a", 1, 9, 5, 1, At, LinkStatus.Applied, Evidence("x", "y"), "kept?"),
                new LinkRecord("b", 1, 8, 5, 2, At, LinkStatus.Void, Evidence("x", "y")),
                new LinkRecord("c", 1, 7, 5, 3, At, LinkStatus.Undone, Evidence("x", "y"), "unmerged"),
            ],
        }));

        tx.InTransaction(t => store.Reset(t));

        store.LiveNodes().Should().BeEmpty();
        store.Node(1).Should().BeNull();
        store.Key("email:a@x.io").Should().BeNull();
        store.Merge("m2-0").Should().BeNull();
        store.QuarantinePage(0, 10).Should().BeEmpty();
        store.Carriers().Should().BeEmpty();
        store.Unmerges().Should().ContainSingle("an admin's unmerge is an input a reprocess keeps");
        store.Links().Select(l => (l.Id, l.Status, l.Note)).Should().BeEquivalentTo(
            [("a", LinkStatus.Pending, (string?)null), ("b", LinkStatus.Pending, (string?)null), ("c", LinkStatus.Undone, "unmerged")]);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task An_erasure_removes_the_persons_nodes_keys_quarantine_carriers_merges_and_links_and_counts_them(string provider)
    {
        var (store, tx) = await On(provider);
        var ann = Live(1, "email:ann@x.io", "user_id:ann");
        ann.MergeIds = ["m3-0"];
        tx.InTransaction(t => store.Write(t, new IdentityChanges
        {
            NewNodes = [ann, new IdentityNode(3) { Into = 1 }, Live(4, "email:bob@x.io")],
            NewKeys = [new KeyRecord("email:ann@x.io", 1), new KeyRecord("user_id:ann", 3), new KeyRecord("email:bob@x.io", 4)],
            Merges = [new MergeRecord("m3-0", 1, 3, "r", "user_id:ann", "email:ann@x.io", 3, "web", "m", At), new MergeRecord("m9-0", 4, 9, "r", "k", "v", 9, "web", "m", At)],
            Quarantine = [new QuarantineRecord("key:user_id:ann", "identifier", "user_id:ann", 1, "r", 3, At), new QuarantineRecord("profile:4", "profile", "p_4", 4, "r", 4, At)],
            Carriers = [(IdentitySchema.Hash("user_id:ann"), [2L]), (IdentitySchema.Hash("email:bob@x.io"), [5L])],
            Links = [new LinkRecord("l1", 1, 4, 5, 1, At, LinkStatus.Applied, Evidence("x", "y")), new LinkRecord("l2", 4, 6, 5, 2, At, LinkStatus.Applied, Evidence("x", "y"))],
        }));

        var erased = tx.InTransaction(t => store.Erase(t, [1, 3], ["email:ann@x.io", "user_id:ann"]));
        var links = tx.InTransaction(t => store.EraseLinksInvolving(t, new HashSet<long> { 1, 3 }));

        erased.Should().Be(new IdentityErasure(Identifiers: 2, MergeRecords: 1, QuarantineEntries: 1));
        links.Should().Be(1);
        store.Node(1).Should().BeNull();
        store.Node(3).Should().BeNull();
        store.Node(4).Should().NotBeNull("another person stays");
        store.Key("email:bob@x.io").Should().NotBeNull();
        store.Merge("m9-0").Should().NotBeNull();
        store.QuarantinePage(0, 10).Select(q => q.Id).Should().Equal("profile:4");
        store.Carriers().Select(c => c.Hash).Should().Equal(IdentitySchema.Hash("email:bob@x.io"));
        store.Links().Select(l => l.Id).Should().Equal("l2");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task The_graph_resolves_merges_links_and_quarantine_the_same_way_and_a_restart_loads_what_it_committed(string provider)
    {
        var (store, tx) = await On(provider);
        var options = Options.Create(new IdentityOptions { MaxMergesPerProfile = 3 });
        var graph = new IdentityGraph(store, new NoEvents(), options, NullLogger<IdentityGraph>.Instance);
        graph.Load();
        var batch = graph.BeginBatch();
        string[] events =
        [
            """{"type":"identify","anonymousId":"a1","traits":{"email":"Ann@Example.com"}}""",
            """{"type":"identify","anonymousId":"a2","userId":"ann"}""",
            """{"type":"track","anonymousId":"a2","event":"x","properties":{},"context":{"traits":{"email":"ann@example.com"}}}""",
            """{"type":"identify","anonymousId":"a3","traits":{"email":"cat@example.com"}}""",
            """{"type":"identify","anonymousId":"a4","traits":{"email":"dan@example.com"}}""",
            """{"type":"identify","anonymousId":"a3","traits":{"email":"dan@example.com"}}""",
            """{"type":"identify","anonymousId":"a5","traits":{"email":"cat@example.com","phone":"+44 20 7946 0000"}}""",
        ];
        var seq = 0L;
        var owners = events.Select(json => Resolve(batch, ++seq, json).Profile).ToList();
        var link = batch.Link(new ProfileLink("lnk-1", owners[^1], 1, Evidence("cat", "ann")), seq, At);
        owners.Add(Resolve(batch, ++seq, """{"type":"identify","anonymousId":"a9"}""").Profile);
        owners.Add(Resolve(batch, ++seq, """{"type":"identify","anonymousId":"a9","traits":{"email":"ann@example.com"}}""").Profile);
        tx.InTransaction(t =>
        {
            batch.Write(t);
            return true;
        });
        batch.Committed();

        owners.Should().Equal(1, 2, 1, 4, 5, 4, 4, 8, 1);
        link.Refusal.Should().BeNull("profiles 1 and 4 are linked by matching");
        var restarted = new IdentityGraph(store, new NoEvents(), options, NullLogger<IdentityGraph>.Instance);
        restarted.Load();
        restarted.Map.Should().BeEquivalentTo(graph.Map, "the map rebuilt from the stored nodes is the one the batch committed");
        restarted.QuarantinedProfiles.Should().BeEquivalentTo(graph.QuarantinedProfiles);
        var directory = new IdentityDirectory(store, restarted);
        directory.FindProfile("email:ann@example.com").Should().Be(1);
        directory.FindProfile("email:dan@example.com").Should().Be(1, "5 merged into 4, and 4 was linked into 1");
        directory.Explain(5, 2)!.Select(m => m.Rule).Should().Equal(["deterministic:anonymous_id+email", IdentityGraph.ProbabilisticRule, "deterministic:email+anonymous_id"]);
        directory.Get(1)!.Merges.Should().Be(4);
        directory.Get(1)!.Absorbed.Should().BeEquivalentTo([2L, 4L, 5L, 8L]);
        directory.Quarantine(0, 10).Should().ContainSingle().Which.Subject.Should().Be("p_1", "a fourth merge quarantines the profile");
        new MatchDecisions(store).Involving(new HashSet<long> { 4 }).Should().ContainSingle().Which.Status.Should().Be(LinkStatus.Applied);
    }

    private static EventIdentity Resolve(IIdentityBatch batch, long sequence, string json)
    {
        using var doc = JsonDocument.Parse(json);
        return batch.Resolve(new LoggedEvent(sequence, "web", "m" + sequence, At.AddSeconds(sequence), Encoding.UTF8.GetBytes(json)), doc.RootElement);
    }

    public ValueTask DisposeAsync() => _databases.DisposeAsync();

    /// <summary>The graph reads the log only to unmerge, which these tests do not.</summary>
    private sealed class NoEvents : IEventLog
    {
        public long LastSequence => 0;
        public IReadOnlyList<LoggedEvent> ReadAfter(long sequence, int max) => [];
        public Task WaitForEventsAfterAsync(long afterSequence, CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);
    }
}
