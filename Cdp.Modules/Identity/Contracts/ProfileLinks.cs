namespace Cdp.Modules.Identity.Contracts;

/// <summary>
/// A decision that two profiles are one person although no event joins them (probabilistic matching: an automatic
/// merge or an accepted review). The identity graph merges them like any other merge, records why
/// (<see cref="Evidence"/>), keeps the decision so that a reprocess applies it again at the same point of the log,
/// and forgets it when its merge record is unmerged.
/// </summary>
public sealed record ProfileLink(string Id, long Left, long Right, MatchEvidence Evidence);

/// <summary>Why a probabilistic merge happened: match probability (0..1), match weight (log2 odds) and each comparison's part.</summary>
/// <param name="DecidedBy">"auto" (at or above AutoMerge) or "review" (accepted by an admin).</param>
/// <param name="MemberCheck">What the "members disagree strongly" guard found when the merge was made (the worst cross pair
/// of the two profiles' members), or null when neither side had other members or the guard was off.</param>
public sealed record MatchEvidence(double Probability, double MatchWeight, string DecidedBy, IReadOnlyList<MatchComparison> Comparisons, string? MemberCheck = null);

/// <summary>One comparison of a scored pair: the level that held, its weight, and both sides' values.</summary>
public sealed record MatchComparison(string Name, string Level, double Weight, string? Left, string? Right);

/// <summary>
/// What applying a link did: <see cref="Merge"/> when the profiles were merged, otherwise <see cref="Refusal"/> says why
/// not (a merge rule refused it, the profiles are already one, or one no longer exists).
/// </summary>
public sealed record LinkOutcome(string LinkId, ProfileMerge? Merge, string? Refusal, LinkRefusalKind RefusalKind = LinkRefusalKind.None);

public enum LinkRefusalKind { None, Rules, AlreadyOne, Missing }
