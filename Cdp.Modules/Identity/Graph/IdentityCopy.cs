using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.Copy;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Identity.Graph;

/// <summary>The identity graph's part of <c>storage copy</c>: nodes, keys, merges, quarantine, unmerge decisions, carriers, links.</summary>
[Service]
internal sealed class IdentityCopy : IStoreCopy
{
    public string Module => "Identity";

    public IEnumerable<CopySet> Sets(IServiceProvider source, IServiceProvider target)
    {
        var from = source.GetRequiredService<IIdentityStore>();
        var to = target.GetRequiredService<IIdentityStore>();
        var tx = target.GetRequiredService<IUnitOfWorkFactory>();
        void Write(IdentityChanges changes) => tx.InTransaction(t => to.Write(t, changes));
        yield return CopySet.Of("nodes", from.AllNodes, to.AllNodes, c => Write(new IdentityChanges { Replay = true, NewNodes = c }));
        yield return CopySet.Of("keys", from.AllKeys, to.AllKeys, c => Write(new IdentityChanges { NewKeys = c }));
        yield return CopySet.Of("merges", from.AllMerges, to.AllMerges, c => Write(new IdentityChanges { Merges = c }));
        yield return CopySet.Of("quarantine", from.AllQuarantine, to.AllQuarantine, c => Write(new IdentityChanges { Quarantine = c }));
        yield return CopySet.Of("unmerges", from.Unmerges, to.Unmerges, c => tx.InTransaction(t => { foreach (var u in c) to.Write(t, new IdentityChanges { Unmerge = u }); }));
        yield return CopySet.Of("carriers", from.Carriers, to.Carriers, c => Write(new IdentityChanges { Carriers = c }));
        yield return CopySet.Of("links", () => from.Links(), () => to.Links(), c => Write(new IdentityChanges { Links = c }));
    }
}
