using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.Copy;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Matching.ProfileMatching;

/// <summary>Matching's part of <c>storage copy</c>: the trained model, run reports, the journal's pending profiles, the review queue.</summary>
[Service]
internal sealed class MatchingCopy : IStoreCopy
{
    public string Module => "Matching";

    public IEnumerable<CopySet> Sets(IServiceProvider source, IServiceProvider target)
    {
        var from = source.GetRequiredService<IMatchingStore>();
        var to = target.GetRequiredService<IMatchingStore>();
        var tx = target.GetRequiredService<IUnitOfWorkFactory>();
        yield return CopySet.One("model", from.Model, to.Model, m => { if (m is not null) to.SaveModel(m); });
        yield return CopySet.Of("run reports", from.AllRuns, to.AllRuns, c => { foreach (var (id, at, json) in c) to.SaveRun(id, at, json, int.MaxValue); });
        yield return CopySet.Of("journal", () => from.JournalProfiles().Order(), () => to.JournalProfiles().Order(), c => tx.InTransaction(t => to.Journal(t, c)));
        yield return CopySet.Of("review queue", from.AllReviews, to.AllReviews, c => { foreach (var item in c) to.AddReview(item); });
    }
}
