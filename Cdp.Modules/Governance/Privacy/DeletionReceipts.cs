using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Governance.Privacy;

/// <summary>
/// What a deletion erased, kept as proof. Holds no personal data: the (pseudonymous) profile id, times, who asked (the API
/// key's name) and counts by kind.
/// </summary>
internal sealed record DeletionReceipt(
    string ReceiptId, string ProfileId, string RequestedBy, DateTime RequestedAt, DateTime CompletedAt,
    IReadOnlyDictionary<string, long> Erased, int SuppressedIdentifiers);

[Service]
internal sealed class DeletionReceipts(IPrivacyStore store)
{
    public static string NewId() => "del_" + Guid.NewGuid().ToString("N");

    public void Write(IUnitOfWork tx, DeletionReceipt r) => store.WriteReceipt(tx, r);

    public DeletionReceipt? Get(string receiptId) => store.Receipt(receiptId);

    public long Count => store.ReceiptCount();

    /// <summary>Newest first (by completion; ties by receipt id).</summary>
    public IReadOnlyList<DeletionReceipt> List(int skip, int take) => store.Receipts(skip, take);
}
