using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Matching.ProfileMatching;

/// <summary>
/// What matching keeps: the trained model, the run reports, the journal of profiles changed since the last run (written
/// in the processor's batch transaction, so it is exact after a crash) and the review queue. LiteDb/LiteMatchingStore and
/// PostgreSql/PostgresMatchingStore keep it.
/// </summary>
internal interface IMatchingStore
{
    StoredModel? Model();

    void SaveModel(StoredModel model);

    /// <summary>Stores a run's report (JSON) and keeps only the newest <paramref name="keep"/>.</summary>
    void SaveRun(string id, DateTime startedAt, string json, int keep);

    /// <summary>The newest reports first.</summary>
    IReadOnlyList<string> RecentRuns(int take);

    /// <summary>In a processor batch: these profiles (ascending, distinct) changed.</summary>
    void Journal(IUnitOfWork tx, IReadOnlyList<long> changed);

    /// <summary>In a reprocess: the journal is emptied (the replay journals every profile again).</summary>
    void ResetJournal(IUnitOfWork tx);

    /// <summary>
    /// The profiles journalled so far. Changes committed while a run uses the result are seen by the next run:
    /// <see cref="ConsumeJournal"/> forgets only what this read returned.
    /// </summary>
    JournalRead ReadJournal();

    /// <summary>After a successful run: forgets what <paramref name="read"/> returned.</summary>
    void ConsumeJournal(JournalRead read);

    ReviewItem? Review(string id);

    /// <summary>Pending items by rank (impact, then score), highest first; decided ones latest decision first.</summary>
    (int Total, IReadOnlyList<ReviewItem> Items) ReviewPage(string status, int skip, int take);

    IReadOnlyList<ReviewItem> ReviewsWithStatus(string status);

    IReadOnlyList<ReviewItem> ReviewsInvolving(IReadOnlySet<long> profiles);

    void AddReview(ReviewItem item);

    void UpdateReviews(IReadOnlyList<ReviewItem> items);

    long DeleteReviewsInvolving(IUnitOfWork tx, IReadOnlySet<long> profiles);

    /// <summary>Every kept run report with its id and start (for storage copy).</summary>
    IEnumerable<(string Id, DateTime At, string Json)> AllRuns();

    /// <summary>The profiles the journal holds, read without consuming it (for storage copy).</summary>
    IReadOnlyCollection<long> JournalProfiles();

    /// <summary>Every review item, whatever its status (for storage copy).</summary>
    IEnumerable<ReviewItem> AllReviews();
}

/// <summary>A trained model as stored: the comparisons' fingerprint, the prior and the m and u probabilities per comparison level.</summary>
internal sealed record StoredModel(string Fingerprint, double Lambda, double[][] M, double[][] U, DateTime At, int Profiles, long Pairs);

/// <summary>The journal as a run read it: the changed profiles, and what the store needs to forget exactly those later.</summary>
internal sealed record JournalRead(HashSet<long> Profiles, object Position);
