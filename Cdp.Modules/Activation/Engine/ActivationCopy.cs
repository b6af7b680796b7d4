using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.Copy;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Activation.Engine;

/// <summary>Activation's part of <c>storage copy</c>: each sync's member state, departed members, remote values, run history, vendor erasure receipts.</summary>
[Service]
internal sealed class ActivationCopy : IStoreCopy
{
    public string Module => "Activation";

    public IEnumerable<CopySet> Sets(IServiceProvider source, IServiceProvider target)
    {
        var from = source.GetRequiredService<IActivationStore>();
        var to = target.GetRequiredService<IActivationStore>();
        IReadOnlyList<Contracts.SyncRunReport> Runs(IServiceProvider side, IActivationStore store) =>
            side.GetRequiredService<IUnitOfWorkFactory>().InTransaction(store.AllRuns);
        yield return CopySet.Of("members", from.AllMembers, to.AllMembers, c => to.Import(ActivationImport.Of(members: c)));
        yield return CopySet.Of("departed members", from.AllDeparted, to.AllDeparted, c => to.Import(ActivationImport.Of(departed: c)));
        yield return CopySet.Of("remote values", from.AllRemote, to.AllRemote, c => to.Import(ActivationImport.Of(remote: c)));
        yield return CopySet.Of("runs", () => Runs(source, from), () => Runs(target, to), c => to.Import(ActivationImport.Of(runs: c)));
        yield return CopySet.Of("erasure receipts", from.AllErasures, to.AllErasures, c => to.Import(ActivationImport.Of(erasures: c)),
            r => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new { r.Id, r.At, r.Destinations }, CopySet.Canonical));
    }
}
