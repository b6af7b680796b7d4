namespace Cdp.Modules.Collection.Import;

/// <summary>
/// The messageIds of every imported row, kept for good (a file imported again, months later, adds nothing): the HTTP
/// dedup window is hours long, an import's is the whole history. One implementation per storage provider.
/// </summary>
internal interface IImportLedger
{
    /// <summary>Those of <paramref name="messageIds"/> the ledger holds.</summary>
    IReadOnlySet<string> Seen(IReadOnlyCollection<string> messageIds);

    /// <summary>Records <paramref name="messageIds"/> (after their events are in the log; recording one twice is harmless).</summary>
    void Record(IReadOnlyCollection<string> messageIds);

    /// <summary>Every recorded messageId (for storage copy).</summary>
    IEnumerable<string> All();
}
