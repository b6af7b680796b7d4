using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Identity.Contracts;

/// <summary>
/// The probabilistic link decisions the identity graph keeps (Matching decides them; Identity stores and replays them,
/// see <see cref="ProfileLink"/>), as Matching reads and erases them: by profile number, never by its own query.
/// </summary>
public interface IMatchDecisions
{
    /// <summary>The (left, right) profile numbers of every decision an unmerge undid (matching does not propose them again).</summary>
    IReadOnlyList<(long Left, long Right)> Undone();

    /// <summary>Every decision naming one of <paramref name="profiles"/> on either side (one pass: neither side is indexed).</summary>
    IReadOnlyList<MatchDecisionView> Involving(IReadOnlySet<long> profiles);

    /// <summary>Deletes every decision naming one of <paramref name="profiles"/>, inside the caller's transaction; returns how many.</summary>
    long EraseInvolving(IReadOnlySet<long> profiles, IUnitOfWork tx);
}

/// <summary>One stored link decision: status is applied, pending, void or undone.</summary>
public sealed record MatchDecisionView(string Id, string Status, long Left, long Right, DateTime At, MatchEvidence Evidence);
