using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Governance.Privacy;

/// <summary>
/// What privacy keeps: the suppression list (salted hashes of deleted people's identifiers, never the identifiers), its
/// salt, and the deletion receipts (proof of what a deletion erased, no personal data). LiteDb/LitePrivacyStore and
/// PostgreSql/PostgresPrivacyStore keep it.
/// </summary>
internal interface IPrivacyStore
{
    /// <summary>The salt of the hashes: made once (random) and kept.</summary>
    byte[] Salt(Func<byte[]> create);

    /// <summary>Every suppression's hash and identifier type (the in-memory index at start).</summary>
    IReadOnlyList<(string Hash, string Type)> SuppressionIndex();

    /// <summary>In the caller's transaction; returns those that were not stored yet.</summary>
    IReadOnlyList<Suppression> AddSuppressions(IUnitOfWork tx, IReadOnlyList<Suppression> suppressions);

    /// <summary>Removes a suppression; returns its identifier type, or null when there was none.</summary>
    string? RemoveSuppression(string hash);

    Suppression? Suppression(string hash);

    /// <summary>Oldest first.</summary>
    IReadOnlyList<Suppression> Suppressions(int skip, int take);

    void WriteReceipt(IUnitOfWork tx, DeletionReceipt receipt);

    DeletionReceipt? Receipt(string receiptId);

    long ReceiptCount();

    /// <summary>Newest first (by completion; ties by receipt id).</summary>
    IReadOnlyList<DeletionReceipt> Receipts(int skip, int take);
}
