namespace Cdp.Modules.Collection.Contracts;

/// <summary>
/// The durable, append-only event log: the source of truth every projection is rebuilt from.
/// Sequences start at 1, increase by one per stored event and are never reused.
/// </summary>
public interface IEventLog
{
    /// <summary>The sequence of the newest committed event (0 when the log is empty).</summary>
    long LastSequence { get; }

    /// <summary>Up to <paramref name="maxEvents"/> committed events with sequence &gt; <paramref name="afterSequence"/>, in order.</summary>
    IReadOnlyList<LoggedEvent> ReadAfter(long afterSequence, int maxEvents);

    /// <summary>Completes when an event after <paramref name="afterSequence"/> is committed (or at once if one is).</summary>
    Task WaitForEventsAfterAsync(long afterSequence, CancellationToken cancellationToken);
}

/// <summary>
/// One stored event. <see cref="Json"/> is the normalised Segment payload (UTF-8) with
/// type, messageId, receivedAt and timestamp always present.
/// </summary>
public sealed record LoggedEvent(long Sequence, string Source, string MessageId, DateTime ReceivedAt, ReadOnlyMemory<byte> Json);
