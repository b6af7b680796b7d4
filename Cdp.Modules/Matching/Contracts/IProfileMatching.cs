namespace Cdp.Modules.Matching.Contracts;

/// <summary>
/// Probabilistic matching over the live profiles: the configured comparisons read profile traits; pairs at or above
/// AutoMerge are merged (merge records with rule "probabilistic"), pairs from Review up to AutoMerge go to the review
/// queue. Incremental by default: profiles created or changed since the last run are compared against all profiles.
/// </summary>
public interface IProfileMatching
{
    /// <param name="full">Compare every profile, not only the changed ones.</param>
    /// <param name="retrain">Learn m, u and the prior again from the current profiles (otherwise the stored model is used; trained when absent).</param>
    /// <param name="trigger">Who asked: "api", "schedule", "cli".</param>
    /// <exception cref="MatchingBusyException">Another run is going.</exception>
    Task<MatchRunReport> RunAsync(bool full, bool retrain, string trigger, CancellationToken cancellationToken);

    IReadOnlyList<MatchRunReport> RecentRuns(int take);
}

public sealed class MatchingBusyException() : InvalidOperationException("a matching run is already going; try again when it has finished");

/// <summary>What one matching run did. Candidate pairs are those that touch a compared profile.</summary>
/// <param name="HeldByMemberGuard">Pairs queued for review (not merged) because members of the two sides disagree strongly.</param>
/// <param name="FieldWarnings">Comparison and blocking fields no profile has, or under 1% of the profiles have.</param>
public sealed record MatchRunReport(
    string Id, string Trigger, bool Full, DateTime StartedAt, double DurationSeconds,
    int Profiles, int ProfilesCompared, long CandidatePairs, IReadOnlyList<BlockingRuleCount> CandidatePairsPerRule,
    int PairsAboveReview, int AutoMerged, int QueuedForReview, int SkippedAsRejected, int AlreadyQueued, int RefusedByRules,
    bool ModelTrained, double? Prior, string? Note, int HeldByMemberGuard = 0, IReadOnlyList<MatchFieldWarning>? FieldWarnings = null);

/// <summary>
/// A field the matching settings read that few profiles have: <paramref name="Profiles"/> of the run's profiles hold a
/// value in it (trait names match fields ignoring case). <paramref name="UsedBy"/> names the comparisons and blocking rules.
/// </summary>
public sealed record MatchFieldWarning(string Field, IReadOnlyList<string> UsedBy, int Profiles, double Share, string Message);

/// <summary>Candidate pairs a blocking rule found, and how many of them no earlier rule had found.</summary>
public sealed record BlockingRuleCount(string Rule, long Pairs, long NewPairs);
