using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Matching.ProfileMatching;
using Cdp.Modules.Matching.ProfileMatching.LiteDb;
using Cdp.Modules.Matching.ProfileMatching.PostgreSql;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Tests.Storage;

/// <summary>Matching's model, run reports, journal and review queue behave the same on both providers (same cases, same assertions).</summary>
public sealed class MatchingStoreTests : IAsyncDisposable
{
    private static readonly DateTime At = new(2026, 12, 4, 11, 0, 0, DateTimeKind.Utc);
    private readonly ProviderDatabases _databases = new();

    public static TheoryData<string> Providers => ProviderDatabases.Providers;

    private async Task<(IMatchingStore Store, IUnitOfWorkFactory Transactions)> On(string provider)
    {
        var db = await _databases.OpenAsync(provider, new MatchingPostgresSchema());
        return (db.Lite is { } lite ? new LiteMatchingStore(lite) : new PostgresMatchingStore(db.Postgres!), db.Transactions);
    }

    private static ReviewItem Item(string id, long left, long right, double probability, int impact = 2, string status = ReviewStatus.Pending, DateTime? decided = null) =>
        new(id, status, left, right, probability, 3.5, At, null, [new MatchComparison("name", "exact", 2.5, "Ann\u0000e", null)], decided, Impact: impact);

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task The_model_reads_back_as_saved_and_a_newer_one_replaces_it(string provider)
    {
        var (store, _) = await On(provider);
        store.Model().Should().BeNull();
        store.SaveModel(new StoredModel("name/exact", 0.01, [[0.9, 0.1]], [[0.05, 0.95]], At, 10, 45));
        var newer = new StoredModel("name/exact|email/exact", 0.002, [[0.9, 0.1], [0.8, 0.2]], [[0.05, 0.95], [1e-6, 1 - 1e-6]], At.AddDays(1), 12, 66);
        store.SaveModel(newer);
        store.Model().Should().BeEquivalentTo(newer);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Only_the_newest_run_reports_are_kept_newest_first(string provider)
    {
        var (store, _) = await On(provider);
        for (var i = 1; i <= 5; i++) store.SaveRun("mr-" + i, At.AddMinutes(i), $$"""{"id":"mr-{{i}}"}""", keep: 3);
        store.RecentRuns(10).Should().Equal("""{"id":"mr-5"}""", """{"id":"mr-4"}""", """{"id":"mr-3"}""");
        store.RecentRuns(1).Should().Equal("""{"id":"mr-5"}""");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_run_forgets_only_the_journal_it_read_and_a_change_made_meanwhile_is_left_for_the_next_run(string provider)
    {
        var (store, tx) = await On(provider);
        tx.InTransaction(t => store.Journal(t, [1, 2, 3]));
        tx.InTransaction(t => store.Journal(t, [3, 4]));
        var failing = () => tx.InTransaction<bool>(t =>
        {
            store.Journal(t, [99]);
            throw new IOException("the batch failed");
        });
        failing.Should().Throw<IOException>();

        var read = store.ReadJournal();
        read.Profiles.Should().BeEquivalentTo([1L, 2L, 3L, 4L], "a rolled-back batch journals nothing");
        tx.InTransaction(t => store.Journal(t, [2, 5]));
        store.ConsumeJournal(read);

        store.ReadJournal().Profiles.Should().BeEquivalentTo([2L, 5L], "profile 2 changed again while the run worked");
        store.ConsumeJournal(store.ReadJournal());
        store.ReadJournal().Profiles.Should().BeEmpty();

        tx.InTransaction(t => store.Journal(t, [7]));
        tx.InTransaction(t => store.ResetJournal(t));
        store.ReadJournal().Profiles.Should().BeEmpty("a reprocess journals every profile again as it replays");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task The_review_queue_pages_pending_items_by_impact_then_score_and_decided_ones_by_decision_time(string provider)
    {
        var (store, _) = await On(provider);
        store.AddReview(Item("rv-a", 1, 2, 0.70));
        store.AddReview(Item("rv-b", 3, 4, 0.95));
        store.AddReview(Item("rv-c", 5, 6, 0.60, impact: 3));
        store.AddReview(Item("rv-d", 7, 8, 0.99, status: ReviewStatus.Rejected, decided: At.AddHours(1)));
        store.AddReview(Item("rv-e", 9, 1, 0.99, status: ReviewStatus.Accepted, decided: At.AddHours(2)));
        store.AddReview(Item("rv-f", 2, 10, 0.99, status: ReviewStatus.Rejected, decided: At.AddHours(3)));
        var duplicate = () => store.AddReview(Item("rv-a", 1, 2, 0.5));
        duplicate.Should().Throw<Exception>("an id is queued once");

        var (total, page) = store.ReviewPage(ReviewStatus.Pending, 0, 2);
        total.Should().Be(3);
        page.Select(i => i.Id).Should().Equal("rv-c", "rv-b");
        store.ReviewPage(ReviewStatus.Pending, 2, 2).Items.Select(i => i.Id).Should().Equal("rv-a");
        store.ReviewPage(ReviewStatus.Rejected, 0, 10).Items.Select(i => i.Id).Should().Equal("rv-f", "rv-d");
        store.ReviewsWithStatus(ReviewStatus.Accepted).Select(i => i.Id).Should().Equal("rv-e");
        store.Review("rv-a").Should().BeEquivalentTo(Item("rv-a", 1, 2, 0.70), "a compared value with a NUL reads back whole");
        store.Review("rv-z").Should().BeNull();

        store.UpdateReviews([Item("rv-a", 1, 2, 0.70) with { Status = ReviewStatus.Accepted, DecidedAt = At.AddHours(4), MergeId = "lnk-1", Winner = 1 }]);
        store.ReviewPage(ReviewStatus.Accepted, 0, 10).Items.Select(i => (i.Id, i.MergeId)).Should().Equal(("rv-a", "lnk-1"), ("rv-e", null));
        store.ReviewPage(ReviewStatus.Pending, 0, 10).Total.Should().Be(2);
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task An_erasure_deletes_the_review_items_on_either_side_of_the_persons_profiles(string provider)
    {
        var (store, tx) = await On(provider);
        store.AddReview(Item("rv-a", 1, 2, 0.7));
        store.AddReview(Item("rv-b", 3, 1, 0.7));
        store.AddReview(Item("rv-c", 3, 4, 0.7));
        store.ReviewsInvolving(new HashSet<long> { 1 }).Select(i => i.Id).Should().BeEquivalentTo(["rv-a", "rv-b"]);
        tx.InTransaction(t => store.DeleteReviewsInvolving(t, new HashSet<long> { 1, 9 })).Should().Be(2);
        store.ReviewsWithStatus(ReviewStatus.Pending).Select(i => i.Id).Should().Equal("rv-c");
    }

    public ValueTask DisposeAsync() => _databases.DisposeAsync();
}
