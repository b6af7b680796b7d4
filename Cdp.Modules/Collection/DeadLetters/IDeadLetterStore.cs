using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Collection.DeadLetters;

/// <summary>
/// The refused events (appended by the event log's store in the same commit as the events, see IEventLogStore.Append),
/// as the API and the privacy holder read and erase them. One implementation per storage provider.
/// </summary>
internal interface IDeadLetterStore
{
    /// <summary>Up to <paramref name="take"/> dead letters, newest first, with an id below <paramref name="before"/> when given.</summary>
    IReadOnlyList<DeadLetter> Newest(long? before, int take);

    /// <summary>Every dead letter (a scan: for the rare privacy requests, there is no index on their content).</summary>
    IEnumerable<DeadLetter> All();

    /// <summary>Inside the caller's transaction: deletes the dead letters <paramref name="ids"/>; returns how many.</summary>
    long Delete(IUnitOfWork tx, IReadOnlyCollection<long> ids);

    /// <summary>Stores dead letters under their own ids, which later ones continue after (for storage copy).</summary>
    void Import(IReadOnlyList<DeadLetter> letters);
}
