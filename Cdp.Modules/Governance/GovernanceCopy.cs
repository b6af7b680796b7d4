using Cdp.Modules.Governance.Audit;
using Cdp.Modules.Governance.Privacy;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.Copy;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Governance;

/// <summary>
/// Governance's part of <c>storage copy</c>: the privacy salt, the suppression list, the deletion receipts and the audit
/// log under its own ids (so its keyed hashes, made with the .audit-key file beside Cdp:Storage:Path, still verify).
/// </summary>
[Service]
internal sealed class GovernanceCopy : IStoreCopy
{
    private const int Page = 1000;

    public string Module => "Governance";

    public IEnumerable<CopySet> Sets(IServiceProvider source, IServiceProvider target)
    {
        var from = source.GetRequiredService<IPrivacyStore>();
        var to = target.GetRequiredService<IPrivacyStore>();
        var tx = target.GetRequiredService<IUnitOfWorkFactory>();
        var auditFrom = source.GetRequiredService<IAuditStore>();
        var auditTo = target.GetRequiredService<IAuditStore>();
        yield return CopySet.One("salt", () => SaltOf(from), () => SaltOf(to), salt => { if (salt is not null) to.Salt(() => salt); });
        yield return CopySet.Of("suppressions", () => Paged(from.Suppressions), () => Paged(to.Suppressions), c => tx.InTransaction(t => to.AddSuppressions(t, c)));
        yield return CopySet.Of("deletion receipts", () => Paged(from.Receipts), () => Paged(to.Receipts), c => tx.InTransaction(t => { foreach (var r in c) to.WriteReceipt(t, r); }));
        yield return CopySet.Of("audit log", () => Audit(auditFrom), () => Audit(auditTo), c => { foreach (var r in c) auditTo.Insert(r); });
    }

    /// <summary>The salt if the store has one; never creates one (the source is only read).</summary>
    private static byte[]? SaltOf(IPrivacyStore store)
    {
        try
        {
            return store.Salt(() => throw new NoSalt());
        }
        catch (NoSalt)
        {
            return null;
        }
    }

    private sealed class NoSalt : Exception;

    private static IEnumerable<T> Paged<T>(Func<int, int, IReadOnlyList<T>> page)
    {
        for (var skip = 0; ; skip += Page)
        {
            var items = page(skip, Page);
            foreach (var item in items) yield return item;
            if (items.Count < Page) yield break;
        }
    }

    private static IEnumerable<AuditRecord> Audit(IAuditStore store) =>
        CopySet.Paged<AuditRecord>(last => store.Page(last?.Id ?? long.MinValue, long.MaxValue, null, Page, newestFirst: false), Page);
}
