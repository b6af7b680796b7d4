using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Identity.Graph;

/// <summary>The stored link decisions as Matching reads and erases them.</summary>
[Service]
internal sealed class MatchDecisions(IIdentityStore store) : IMatchDecisions
{
    public IReadOnlyList<(long Left, long Right)> Undone() => store.Links(LinkStatus.Undone).Select(l => (l.Left, l.Right)).ToList();

    public IReadOnlyList<MatchDecisionView> Involving(IReadOnlySet<long> profiles) =>
        store.Links().Where(l => profiles.Contains(l.Left) || profiles.Contains(l.Right))
            .Select(l => new MatchDecisionView(l.Id, l.Status, l.Left, l.Right, l.At, l.Evidence)).ToList();

    public long EraseInvolving(IReadOnlySet<long> profiles, IUnitOfWork tx) => store.EraseLinksInvolving(tx, profiles);
}
