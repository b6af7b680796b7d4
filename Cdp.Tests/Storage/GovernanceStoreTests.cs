using Cdp.Modules.Governance.Audit;
using Cdp.Modules.Governance.Audit.LiteDb;
using Cdp.Modules.Governance.Audit.PostgreSql;
using Cdp.Modules.Governance.Privacy;
using Cdp.Modules.Governance.Privacy.LiteDb;
using Cdp.Modules.Governance.Privacy.PostgreSql;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Tests.Storage;

/// <summary>Privacy's suppressions and receipts, and the audit log, behave the same on both providers (same cases, same assertions).</summary>
public sealed class GovernanceStoreTests : IAsyncDisposable
{
    private static readonly DateTime At = new(2026, 12, 4, 13, 0, 0, DateTimeKind.Utc);
    private readonly ProviderDatabases _databases = new();

    public static TheoryData<string> Providers => ProviderDatabases.Providers;

    private async Task<(IPrivacyStore Privacy, IAuditStore Audit, IUnitOfWorkFactory Transactions)> On(string provider)
    {
        var db = await _databases.OpenAsync(provider, new GovernancePostgresSchema());
        return db.Lite is { } lite
            ? (new LitePrivacyStore(lite), new LiteAuditStore(lite), db.Transactions)
            : (new PostgresPrivacyStore(db.Postgres!), new PostgresAuditStore(db.Postgres!), db.Transactions);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task The_salt_is_made_once_and_kept(string provider)
    {
        var (privacy, _, _) = await On(provider);
        var first = privacy.Salt(() => [1, 2, 3]);
        privacy.Salt(() => [9, 9, 9]).Should().Equal(first);
        first.Should().Equal(1, 2, 3);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Suppressions_are_added_in_the_callers_transaction_once_and_listed_oldest_first(string provider)
    {
        var (privacy, _, tx) = await On(provider);
        var rolledBack = () => tx.InTransaction<bool>(t =>
        {
            privacy.AddSuppressions(t, [new Suppression("aa", "email", At, "del_0")]);
            throw new IOException("the deletion failed");
        });
        rolledBack.Should().Throw<IOException>();
        privacy.SuppressionIndex().Should().BeEmpty();

        tx.InTransaction(t => privacy.AddSuppressions(t, [new Suppression("bb", "email", At.AddMinutes(1), "del_1"), new Suppression("cc", "phone", At, null)]))
            .Select(s => s.Hash).Should().BeEquivalentTo(["bb", "cc"]);
        tx.InTransaction(t => privacy.AddSuppressions(t, [new Suppression("bb", "email", At.AddDays(1), "del_2"), new Suppression("dd", "user_id", At.AddMinutes(2), null)]))
            .Select(s => s.Hash).Should().Equal(["dd"], "bb was suppressed already");

        privacy.SuppressionIndex().Should().BeEquivalentTo([("bb", "email"), ("cc", "phone"), ("dd", "user_id")]);
        privacy.Suppression("bb").Should().Be(new Suppression("bb", "email", At.AddMinutes(1), "del_1"));
        privacy.Suppressions(0, 2).Select(s => s.Hash).Should().Equal("cc", "bb");
        privacy.Suppressions(2, 2).Select(s => s.Hash).Should().Equal("dd");
        privacy.RemoveSuppression("cc").Should().Be("phone");
        privacy.RemoveSuppression("cc").Should().BeNull();
        privacy.Suppression("cc").Should().BeNull();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Deletion_receipts_are_kept_newest_first(string provider)
    {
        var (privacy, _, tx) = await On(provider);
        DeletionReceipt Receipt(string id, int minutes) => new(id, "p_1", "ops", At, At.AddMinutes(minutes),
            new Dictionary<string, long> { ["events"] = 3, ["identifiers"] = 2 }, 2);
        foreach (var (id, minutes) in new[] { ("del_a", 1), ("del_b", 3), ("del_c", 2) })
            tx.InTransaction(t =>
            {
                privacy.WriteReceipt(t, Receipt(id, minutes));
                return true;
            });
        privacy.ReceiptCount().Should().Be(3);
        privacy.Receipt("del_c").Should().BeEquivalentTo(Receipt("del_c", 2));
        privacy.Receipt("del_x").Should().BeNull();
        privacy.Receipts(0, 2).Select(r => r.ReceiptId).Should().Equal("del_b", "del_c");
        privacy.Receipts(2, 5).Select(r => r.ReceiptId).Should().Equal("del_a");
    }

    private static AuditRecord Record(long id, string actor, string path = "/api/profiles/{id}") =>
        new(id, At, actor, "Admin", "GET", path, new Dictionary<string, string> { ["id"] = "p_1" }, "q=%23abc", 200, 1.25, "/api/profiles/{id}");

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task The_audit_log_pages_by_id_in_both_directions_by_actor_and_range_and_trims_the_oldest(string provider)
    {
        var (_, audit, _) = await On(provider);
        audit.LastId().Should().Be(0);
        var ids = Enumerable.Range(1, 6).Select(i => At.Ticks + i).ToList();
        for (var i = 0; i < ids.Count; i++) audit.Insert(Record(ids[i], i % 2 == 0 ? "ops" : "analyst", "/api/x\u0000/" + i));

        audit.LastId().Should().Be(ids[^1]);
        audit.Count().Should().Be(6);
        audit.Page(long.MinValue, long.MaxValue, null, 3, newestFirst: false).Select(r => r.Id).Should().Equal(ids[0], ids[1], ids[2]);
        audit.Page(ids[2], long.MaxValue, null, 10, newestFirst: false).Select(r => r.Id).Should().Equal(ids[3], ids[4], ids[5]);
        audit.Page(long.MinValue, ids[5], null, 2, newestFirst: true).Select(r => r.Id).Should().Equal(ids[4], ids[3]);
        audit.Page(long.MinValue, long.MaxValue, "ops", 10, newestFirst: true).Select(r => r.Id).Should().Equal(ids[4], ids[2], ids[0]);
        audit.Page(long.MinValue, long.MaxValue, "ops\u0000", 10, newestFirst: true).Should().BeEmpty("an actor filter with a NUL (GET /api/audit?actor=%00) names nobody");
        audit.Page(long.MinValue, long.MaxValue, null, 1, false).Single().Should().BeEquivalentTo(Record(ids[0], "ops", "/api/x\u0000/0"));

        audit.DeleteBefore(ids[1]).Should().Be(1);
        audit.DeleteOldest(2).Should().Be(2);
        audit.Page(long.MinValue, long.MaxValue, null, 10, false).Select(r => r.Id).Should().Equal(ids[3], ids[4], ids[5]);
        audit.Count().Should().Be(3);
        audit.UpgradeLegacyRecords(r => r with { Path = "rewritten" }).Should().Be(0, "every record here was written with keyed hashes");
    }

    public ValueTask DisposeAsync() => _databases.DisposeAsync();
}
