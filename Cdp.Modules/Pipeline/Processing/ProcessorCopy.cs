using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.Copy;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Pipeline.Processing;

/// <summary>The processor's part of <c>storage copy</c>: its checkpoint (so the target does not reprocess the log) and the set-aside events.</summary>
[Service]
internal sealed class ProcessorCopy : IStoreCopy
{
    public string Module => "Pipeline";

    public IEnumerable<CopySet> Sets(IServiceProvider source, IServiceProvider target)
    {
        var from = source.GetRequiredService<IProcessorStore>();
        var to = target.GetRequiredService<IProcessorStore>();
        var tx = target.GetRequiredService<IUnitOfWorkFactory>();
        yield return CopySet.One("checkpoint", from.Checkpoint, to.Checkpoint, through => tx.InTransaction(t => to.WriteCheckpoint(t, 0, through)));
        yield return CopySet.Of("set-aside events", from.AllFailures, to.AllFailures, c => tx.InTransaction(t => { foreach (var f in c) to.ImportFailure(t, f); }));
    }
}
