using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Collection.EventLog;

/// <summary>
/// Where the event log and its dead letters are kept, one implementation per storage provider (LiteDb/, PostgreSql/).
/// Each host has one writer (<see cref="EventLogWriter"/>), appending one group commit at a time; readers ask only for
/// sequences published to the host's <see cref="LogHead"/>, so they never see a gap. On LiteDB the writer is the only one
/// and numbers the events itself; on PostgreSQL several hosts may append to one log, so the database numbers them (under
/// the log's lock) and keeps the dedup window's keys, and <see cref="WatchHeadAsync"/> hears the other hosts' commits.
/// </summary>
internal interface IEventLogStore
{
    /// <summary>
    /// Start-up: the sequence after the newest stored event (1 when the log is empty), and the events committed at or after
    /// <paramref name="since"/> (source, messageId, commit time), oldest first, to refill the dedup window.
    /// </summary>
    LogTail Recover(DateTime since);

    /// <summary>
    /// Called on the submitting thread before the events are queued: the store may keep its own form of each event in
    /// <see cref="AcceptedEvent.Prepared"/> (LiteDB: its BSON document), so that the one writer thread only stores them.
    /// </summary>
    void Prepare(IReadOnlyList<AcceptedEvent> events);

    /// <summary>
    /// One transaction: the events, committed at <see cref="LogAppend.At"/>, and the refused events as dead letters. Returns
    /// once committed, with the sequences the events got; throws when nothing was stored. A store that numbers in the
    /// database (PostgreSQL) ignores <see cref="LogAppend.FirstSequence"/> and leaves out events whose (source, messageId)
    /// another host stored within the dedup window; LiteDB numbers from it, which must follow the newest stored event.
    /// </summary>
    AppendResult Append(LogAppend append);

    /// <summary>After an <see cref="Append(LogAppend)"/> that threw: what it stored if its transaction committed after all, else null.</summary>
    AppendResult? Stored(LogAppend append);

    /// <summary>
    /// Until cancelled: calls <paramref name="committed"/> with the newest sequence whenever another host's append commits
    /// (PostgreSQL: LISTEN/NOTIFY, and a read of the head every second in case a notification was missed). LiteDB has no
    /// other writer: it returns at once.
    /// </summary>
    Task WatchHeadAsync(Action<long> committed, CancellationToken cancellationToken);

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

/// <summary>One group commit. <see cref="Id"/> names it, so that a store can tell afterwards whether it committed.</summary>
/// <param name="FirstSequence">The writer's own numbering (the sequence after the newest it knows of).</param>
internal sealed record LogAppend(long FirstSequence, DateTime At, IReadOnlyList<AcceptedEvent> Events, IReadOnlyList<RejectedEvent> DeadLetters)
{
    public Guid Id { get; } = Guid.NewGuid();
}

/// <summary>What an append stored: <paramref name="Stored"/> events numbered from <paramref name="First"/> (0 and 0 when none).</summary>
internal readonly record struct AppendResult(long First, int Stored)
{
    public long Last => First + Stored - 1;
}

internal static class EventLogStoreExtensions
{
    /// <summary>One append of a writer that numbers its own events (tests; LiteDB's writer).</summary>
    public static AppendResult Append(this IEventLogStore store, long firstSequence, DateTime at, IReadOnlyList<AcceptedEvent> events, IReadOnlyList<RejectedEvent> deadLetters) =>
        store.Append(new LogAppend(firstSequence, at, events, deadLetters));
}
