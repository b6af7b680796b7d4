using System.Collections.Concurrent;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Collection.EventLog;

internal enum SubmitOutcome { Committed, QueueFull }

/// <summary>
/// The single writer of the event log. Requests queue their events; one dedicated thread drains the queue
/// and commits everything waiting in ONE transaction of the log's store (group commit), then completes the requests.
/// A request is acknowledged only after its events are committed. The queue is bounded in events: past
/// the bound, <see cref="SubmitAsync"/> answers QueueFull at once (the API turns it into 429), never a drop.
/// </summary>
[Service]
internal sealed class EventLogWriter : IHostedService, IDisposable
{
    private readonly IEventLogStore _store;
    private readonly LogHead _head;
    private readonly TimeProvider _clock;
    private readonly ILogger<EventLogWriter> _log;
    private readonly CollectionOptions _options;
    // A lock-free queue and a wake-up event rather than a Channel: the channel's writer lock was the hottest lock of
    // /v1/track (hundreds of request threads queuing on 2 cores spun in Monitor.Enter)
    private readonly ConcurrentQueue<IngestWork> _queue = new();
    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
    private int _writerSleeping;
    private volatile bool _completed;
    private const int WriterSpins = 20;
    private readonly DedupIndex _dedup;
    private Thread? _thread;
    private long _pendingEvents;
    private long _nextSequence = 1;
    private readonly CancellationTokenSource _watchStop = new();
    private Task? _watch;

    private readonly ISuppressionList? _suppressions;

    public EventLogWriter(IEventLogStore store, LogHead head, TimeProvider clock, IOptions<CollectionOptions> options, ILogger<EventLogWriter> log,
        ISuppressionList? suppressions = null)
    {
        _suppressions = suppressions;
        _store = store;
        _head = head;
        _clock = clock;
        _log = log;
        _options = options.Value;
        _dedup = new DedupIndex(_options.DedupWindow, _options.DedupMaxEntries);
    }

    public bool Running => _thread is { IsAlive: true };

    public long PendingEvents => Interlocked.Read(ref _pendingEvents);

    /// <summary>Counts since start, for /metrics.</summary>
    public long CommittedEvents, DuplicateEvents, DeadLetteredEvents, CommitFailures, Commits, SuppressedEvents;

    /// <summary>For /metrics (read from another thread: a plain field read, at worst one commit old).</summary>
    public int DedupEntries => _dedup.Count;

    public long DedupEvictedEarly => _dedup.EvictedEarly;

    /// <summary>Total time spent inside the store's transactions (insert + commit), in Stopwatch ticks.</summary>
    public long CommitTicks;

    public Task<SubmitOutcome> SubmitAsync(IReadOnlyList<AcceptedEvent> events, IReadOnlyList<RejectedEvent> rejected)
    {
        events = WithoutSuppressed(events);
        if (rejected.Count > 0 && _suppressions is { IsEmpty: false } suppressions)
            rejected = rejected.Where(r => !suppressions.RefusesText(r.Raw)).ToList(); // not even as a dead letter
        var n = events.Count + rejected.Count;
        if (n == 0) return Task.FromResult(SubmitOutcome.Committed);
        if (Interlocked.Add(ref _pendingEvents, n) > _options.QueueCapacity && n < _options.QueueCapacity)
        {
            Interlocked.Add(ref _pendingEvents, -n);
            return Task.FromResult(SubmitOutcome.QueueFull);
        }
        if (_completed)
        {
            Interlocked.Add(ref _pendingEvents, -n);
            throw new InvalidOperationException("the event log is shutting down");
        }
        _store.Prepare(events);
        var work = new IngestWork(events, rejected);
        _queue.Enqueue(work);
        if (Volatile.Read(ref _writerSleeping) == 1 && Interlocked.Exchange(ref _writerSleeping, 0) == 1) _wake.Set();
        return work.Done.Task;
    }

    /// <summary>
    /// Events carrying a suppressed identifier (a deleted person's) are acknowledged and counted, never stored: the sender
    /// sees success (as with Segment's suppression), the log never holds them. An empty list costs one flag read.
    /// </summary>
    private IReadOnlyList<AcceptedEvent> WithoutSuppressed(IReadOnlyList<AcceptedEvent> events)
    {
        if (_suppressions is null || _suppressions.IsEmpty) return events;
        List<AcceptedEvent>? kept = null;
        for (var i = 0; i < events.Count; i++)
        {
            if (!_suppressions.Refuses(events[i].Json))
            {
                kept?.Add(events[i]);
                continue;
            }
            if (kept is null)
            {
                kept = new List<AcceptedEvent>(events.Count);
                for (var j = 0; j < i; j++) kept.Add(events[j]);
            }
            Interlocked.Increment(ref SuppressedEvents);
        }
        return kept ?? events;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Recover();
        _thread = new Thread(Run) { IsBackground = true, Name = "cdp-event-log-writer" };
        _thread.Start();
        // other hosts' commits (PostgreSQL): this host's readers learn the head from the database too
        _watch = Task.Run(() => _store.WatchHeadAsync(_head.Publish, _watchStop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Complete();
        _thread?.Join(TimeSpan.FromSeconds(30)); // drains what was queued: those requests are still waiting for their ack
        await _watchStop.CancelAsync();
        if (_watch is { } watch) await watch.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Finds the next sequence and reloads the dedup window from the tail of the log.</summary>
    private void Recover()
    {
        var tail = _store.Recover(_clock.GetUtcNow().UtcDateTime - _options.DedupWindow);
        _nextSequence = tail.NextSequence;
        foreach (var (source, messageId, at) in tail.Recent) _dedup.Add(source, messageId, at);
        _head.Publish(_nextSequence - 1);
        _log.LogInformation("Event log at sequence {Last}; {Count} messageIds in the dedup window", _nextSequence - 1, _dedup.Count);
    }

    private void Run()
    {
        var batch = new List<IngestWork>();
        while (true)
        {
            if (!_queue.TryDequeue(out var first))
            {
                if (_completed && _queue.IsEmpty) return; // completed and drained
                // under load the next request is microseconds away: a short spin saves the producers the event's lock and wake-up
                var spin = new SpinWait();
                while (spin.Count < WriterSpins && _queue.IsEmpty && !_completed) spin.SpinOnce(sleep1Threshold: -1);
                if (!_queue.IsEmpty) continue;
                _wake.Reset();
                Interlocked.Exchange(ref _writerSleeping, 1); // a full fence: the emptiness check below cannot move above it
                // re-check after announcing the sleep: an enqueue in between either is seen here or sets the event
                if (_queue.IsEmpty && !_completed) _wake.Wait();
                Volatile.Write(ref _writerSleeping, 0);
                continue;
            }
            batch.Add(first);
            var n = first.Count;
            while (n < _options.MaxEventsPerCommit && _queue.TryDequeue(out var more))
            {
                batch.Add(more);
                n += more.Count;
            }
            Commit(batch, n);
            batch.Clear();
        }
    }

    private void Commit(List<IngestWork> batch, int count)
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        _dedup.Expire(now);
        var fresh = new List<UInt128>();
        var inThisCommit = new HashSet<UInt128>();
        var events = new List<AcceptedEvent>(count);
        var deadLetters = new List<RejectedEvent>();
        long duplicates = 0;
        foreach (var work in batch)
        {
            foreach (var e in work.Events)
            {
                var key = DedupIndex.Key(e.Source, e.MessageId); // hashed once: checked here, added after the commit
                if (_dedup.Contains(key) || !inThisCommit.Add(key)) { duplicates++; continue; }
                events.Add(e);
                fresh.Add(key);
            }
            deadLetters.AddRange(work.Rejected);
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var append = new LogAppend(_nextSequence, now, events, deadLetters);
        AppendResult result;
        try
        {
            result = _store.Append(append);
        }
        catch (Exception ex) when (events.Count > 0 && Stored(append) is { } stored)
        {
            // the transaction is in the log and what failed came after it (an fsync of DurableCommits, a lost connection
            // after the commit): the events are stored, so they are acknowledged, and the sequence and the dedup window move
            // on (a 503 would make the senders store them twice, and the next commit would reuse their sequence numbers)
            _log.LogWarning(ex, "Event log commit of {Count} events reported a failure after the events were stored; they are acknowledged", count);
            result = stored;
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref CommitFailures);
            _log.LogError(ex, "Event log commit of {Count} events failed; the requests get 503 and the senders retry", count);
            foreach (var work in batch) work.Done.TrySetException(ex);
            Interlocked.Add(ref _pendingEvents, -count);
            return;
        }

        Interlocked.Add(ref CommitTicks, System.Diagnostics.Stopwatch.GetTimestamp() - started);
        Interlocked.Increment(ref Commits);
        foreach (var key in fresh) _dedup.Add(key, now);
        // on PostgreSQL another host may have stored some of them within the window: those are duplicates too
        Interlocked.Add(ref CommittedEvents, result.Stored);
        Interlocked.Add(ref DuplicateEvents, duplicates + events.Count - result.Stored);
        Interlocked.Add(ref DeadLetteredEvents, deadLetters.Count);
        if (result.Stored > 0)
        {
            _nextSequence = result.Last + 1;
            _head.Publish(result.Last);
        }
        Interlocked.Add(ref _pendingEvents, -count);
        foreach (var work in batch) work.Done.TrySetResult(SubmitOutcome.Committed);
    }

    /// <summary>What a commit that threw stored, if it committed after all; null when it did not (or that cannot be read).</summary>
    private AppendResult? Stored(LogAppend append)
    {
        try
        {
            return _store.Stored(append);
        }
        catch (Exception)
        {
            return null; // unreadable: the requests get 503, as for any failed commit
        }
    }

    private void Complete()
    {
        _completed = true;
        Interlocked.Exchange(ref _writerSleeping, 0);
        _wake.Set();
    }

    public void Dispose()
    {
        _watchStop.Cancel();
        Complete();
        _thread?.Join(TimeSpan.FromSeconds(30)); // drain before the container disposes the database
    }

    private sealed class IngestWork(IReadOnlyList<AcceptedEvent> events, IReadOnlyList<RejectedEvent> rejected)
    {
        public IReadOnlyList<AcceptedEvent> Events { get; } = events;
        public IReadOnlyList<RejectedEvent> Rejected { get; } = rejected;
        public int Count => Events.Count + Rejected.Count;
        public TaskCompletionSource<SubmitOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
