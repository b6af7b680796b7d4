using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Collection.EventLog;

/// <summary>
/// Where the event log and its dead letters are kept, one implementation per storage provider (LiteDb/, PostgreSql/).
/// The single writer (<see cref="EventLogWriter"/>) owns the order: it numbers the events and appends them, one group
/// commit at a time; readers ask only for sequences the writer has published, so they never see a gap.
/// </summary>
internal interface IEventLogStore
{
    /// <summary>
    /// Start-up: the sequence after the newest stored event (1 when the log is empty), and the events committed at or after
    /// <paramref name="since"/> (source, messageId, commit time), oldest first, to refill the dedup window.
    /// </summary>
    LogTail Recover(DateTime since);

    /// <summary>
    /// One transaction: <paramref name="events"/> numbered from <paramref name="firstSequence"/> (which must follow the
    /// newest stored event: anything else means another writer appends to the same log, and is refused), committed at
    /// <paramref name="at"/>, and the refused events as dead letters. Returns once committed; throws when nothing was stored.
    /// </summary>
    /// <summary>
    /// Called on the submitting thread before the events are queued: the store may keep its own form of each event in
    /// <see cref="AcceptedEvent.Prepared"/> (LiteDB: its BSON document), so that the one writer thread only stores them.
    /// </summary>
    void Prepare(IReadOnlyList<AcceptedEvent> events);

    void Append(long firstSequence, DateTime at, IReadOnlyList<AcceptedEvent> events, IReadOnlyList<RejectedEvent> deadLetters);

    /// <summary>Whether the event numbered <paramref name="sequence"/> is stored (after an append whose commit reported a failure).</summary>
    bool Contains(long sequence);

    /// <summary>
    /// Inside the caller's transaction (an erasure): replaces the payload of each stored event of <paramref name="sequences"/>
    /// with <paramref name="rewrite"/>(payload); the event keeps its sequence, source and messageId. Returns how many it rewrote.
    /// </summary>
    long Rewrite(IUnitOfWork tx, IReadOnlyCollection<long> sequences, Func<byte[], byte[]> rewrite);

    /// <summary>Up to <paramref name="maxEvents"/> events after <paramref name="afterSequence"/> and at most <paramref name="lastSequence"/>, in order.</summary>
    IReadOnlyList<LoggedEvent> ReadAfter(long afterSequence, long lastSequence, int maxEvents);
}

/// <param name="NextSequence">The sequence the next appended event gets.</param>
/// <param name="Recent">Events of the dedup window, oldest first.</param>
internal sealed record LogTail(long NextSequence, IReadOnlyList<(string Source, string MessageId, DateTime At)> Recent);
