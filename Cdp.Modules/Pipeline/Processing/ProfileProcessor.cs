using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Pipeline.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Pipeline.Processing;

/// <summary>
/// The one processing loop: reads the event log after its checkpoint in batches, resolves identities (Identity's
/// <see cref="IIdentityResolver"/>), updates profiles (Profiles' <see cref="IProfileProjection"/>), lets the batch
/// participants (segments, matching's journal: modules above this one, through <see cref="IProfileBatchParticipant"/>) add
/// their writes, and commits all of it together with the new checkpoint in ONE LiteDB transaction on its dedicated thread
/// (nothing awaits inside it).
/// Invariant: a batch replayed after a crash changes nothing twice, because its effects and the checkpoint that
/// skips it commit together; the in-memory identity map is published only after the commit.
/// Admin commands (unmerge, reprocess) run on the same thread between batches.
/// Failures (see README, "When processing fails"): a batch that fails for a reason outside the events
/// (<see cref="BatchFailure.IsEnvironmental"/>) is retried as it is, with a doubling backoff, while /health/ready is
/// unhealthy; any other failure splits the batch in halves, each in its own transaction, until the events that fail
/// alone are found: they are set aside in <see cref="ProcessorFailures"/> (the checkpoint passes them) and everything
/// else commits. A thread that dies fails every command at once and stops the host (exit code 5).
/// </summary>
[Service]
internal sealed class ProfileProcessor : IHostedService, IProfileProcessor, IDisposable
{
    /// <summary>The storage provider's transactions: each batch is one, across the modules that join it.</summary>
    private readonly IUnitOfWorkFactory _transactions;

    private readonly IProcessorStore _store;
    private readonly IEventLog _log;
    private readonly IIdentityResolver _identity;
    private readonly IReadOnlyList<IProfileBatchParticipant> _participants;
    private readonly IProfileProjection _profiles;
    private readonly ProfileBatchSizes _sizes;
    private readonly TimeProvider _clock;
    private readonly ILogger<ProfileProcessor> _logger;
    private readonly ProcessorFailures _failures;
    private readonly ProcessorRecoveryOptions _recovery;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly IProcessorLeadership _leadership;
    private readonly ConcurrentQueue<IQueuedCommand> _commands = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Freshness _freshness = new();
    private readonly List<(long Sequence, TaskCompletionSource Done)> _waiters = [];
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Thread? _thread;
    private long _checkpoint;
    private long _processed, _unattributed;
    private string? _lastError;
    private volatile bool _paused;
    private int _lastBatchEvents;
    private double _lastBatchWriteMs;
    /// <summary>Milliseconds the last batch of at least BatchSize events held the write gate, per event; 0 before one.</summary>
    private double _writeMsPerEvent;
    private readonly Stopwatch _rateClock = Stopwatch.StartNew();
    private double _rate;
    /// <summary>1 once the thread is gone (dead or stopped): commands fail at once instead of waiting for it.</summary>
    private int _closed;
    private string? _deadReason;
    /// <summary>The environmental failure being ridden out (null while processing works); written by the thread only.</summary>
    private EnvironmentalFailure? _environmental;
    private TimeSpan _retryDelay;
    private long _retryAt; // Stopwatch timestamp before which the thread does not retry
    private long _splits;
    private bool _splitLastTime; // the last batch had to be split: the next ones stay at BatchSize until one passes whole
    private bool _isLeading; // this host runs the processor now (always, with one host per database)
    private string? _leader; // the host that does, as last seen while this one waits
    private readonly HostLead _lead; // tells the work that must run beside the processor where it leads

    public ProfileProcessor(IUnitOfWorkFactory transactions, IProcessorStore store, IEventLog log, IIdentityResolver identity, IEnumerable<IProfileBatchParticipant> participants,
        IProfileProjection profiles, TimeProvider clock, ILogger<ProfileProcessor> logger,
        ProcessorFailures failures, IOptions<ProcessorRecoveryOptions> recovery, IHostApplicationLifetime lifetime, IProcessorLeadership leadership, HostLead lead)
    {
        _leadership = leadership;
        _lead = lead;
        _failures = failures;
        _recovery = recovery.Value;
        _lifetime = lifetime;
        _transactions = transactions;
        _store = store;
        _log = log;
        _identity = identity;
        _participants = participants.ToList();
        _profiles = profiles;
        _sizes = profiles.BatchSizes;
        _clock = clock;
        _logger = logger;
    }

    public ProcessorStatus Status
    {
        get
        {
            var environmental = Volatile.Read(ref _environmental);
            var dead = Volatile.Read(ref _deadReason);
            return new ProcessorStatus(_thread is { IsAlive: true }, Interlocked.Read(ref _checkpoint), _log.LastSequence,
                Interlocked.Read(ref _processed), Interlocked.Read(ref _unattributed), Volatile.Read(ref _rate), _freshness.P95Milliseconds, _lastError, _paused,
                Volatile.Read(ref _lastBatchEvents), Volatile.Read(ref _lastBatchWriteMs))
            {
                Dead = dead is not null,
                DeadReason = dead,
                QueuedCommands = _commands.Count,
                EnvironmentalError = environmental?.Reason,
                EnvironmentalErrorSince = environmental?.Since,
                RetryAttempts = environmental?.Attempts ?? 0,
                NextRetryAt = environmental?.NextRetryAt,
                FailedEvents = _failures.Listed,
                SetAsideSinceStart = _failures.SetAsideSinceStart,
                Host = _leadership.Host,
                Leading = Volatile.Read(ref _isLeading),
                Leader = Volatile.Read(ref _isLeading) ? _leadership.Host : Volatile.Read(ref _leader),
            };
        }
    }

    /// <summary>Batches split in halves to find failing events, since start.</summary>
    public long SplitsSinceStart => Interlocked.Read(ref _splits);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "cdp-profile-processor" };
        _thread.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stop.Cancel();
        Wake();
        _thread?.Join(TimeSpan.FromSeconds(30));
        return Task.CompletedTask;
    }

    // The CancellationTokenSource is not disposed: the host may call StopAsync after the container disposed this
    // (a failed start, a test host stopped twice), and a source without timers holds nothing to release.
    public void Dispose()
    {
        _stop.Cancel();
        Wake();
        _thread?.Join(TimeSpan.FromSeconds(30)); // the database is disposed after this: the thread must be gone
    }

    public Task WaitForCheckpointAsync(long sequence, CancellationToken cancellationToken)
    {
        lock (_waiters)
        {
            if (Interlocked.Read(ref _checkpoint) >= sequence) return Task.CompletedTask;
            if (Volatile.Read(ref _deadReason) is not null) return Task.FromException(Unavailable());
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((sequence, done));
            return done.Task.WaitAsync(cancellationToken);
        }
    }

    public Task<UnmergeResult?> UnmergeAsync(string mergeId, CancellationToken cancellationToken) =>
        Post(() => Unmerge(mergeId), cancellationToken);

    public Task<T> RunExclusiveAsync<T>(Func<T> command, CancellationToken cancellationToken) => Post(() =>
    {
        try { return command(); }
        finally { _profiles.DropCache(); }
    }, cancellationToken);

    public Task PauseAsync(CancellationToken cancellationToken) => Post(() =>
    {
        if (_leadership.Shared) _store.SetPaused(true); // several hosts: the pause outlives a fail-over
        if (!_paused) _logger.LogWarning("Profile processing paused at sequence {Checkpoint}; events are still collected", _checkpoint);
        _paused = true;
        return true;
    }, cancellationToken);

    public Task ResumeAsync(CancellationToken cancellationToken) => Post(() =>
    {
        if (_leadership.Shared) _store.SetPaused(false);
        if (_paused) _logger.LogWarning("Profile processing resumed at sequence {Checkpoint} ({Lag} events waiting)", _checkpoint, _log.LastSequence - _checkpoint);
        _paused = false;
        return true;
    }, cancellationToken);

    public Task ReprocessAsync(CancellationToken cancellationToken) => Post(() => { Reset(); return true; }, cancellationToken);

    public Task<IReadOnlyList<LinkOutcome>> LinkAsync(IReadOnlyList<ProfileLink> links, CancellationToken cancellationToken) =>
        Post(() => Link(links), cancellationToken);

    private Task<T> Post<T>(Func<T> command, CancellationToken cancellationToken)
    {
        var queued = new QueuedCommand<T>(command);
        _commands.Enqueue(queued);
        // the thread sets _closed before it drains the queue a last time: one of the two fails this command
        if (Volatile.Read(ref _closed) == 1) FailQueued();
        else Wake();
        return queued.Done.Task.WaitAsync(cancellationToken);
    }

    private ProcessorUnavailableException Unavailable() => new(Volatile.Read(ref _deadReason) is { } reason
        ? "the profile processor is not running (" + reason + "); Cdp stops so that its service manager restarts it"
        : "the profile processor is stopping");

    private void FailQueued()
    {
        if (_commands.IsEmpty) return;
        var error = Unavailable();
        while (_commands.TryDequeue(out var command)) command.Fail(error);
    }

    private void Wake() => Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private void Run()
    {
        try
        {
            // one host per database leads at once; with several (PostgreSQL, Cdp:Storage:Hosts = Several) this one waits
            // for the lead, and after losing it (its lock's connection failed, or the checkpoint moved under it) waits again
            while (!_stop.IsCancellationRequested && _leadership.WaitToLead(_stop.Token, Follow))
            {
                if (_leadership.Shared)
                {
                    // before this host says it leads: a status read then already shows an admin's pause (LoadState reads it again)
                    try { _paused = _store.Paused(); }
                    catch (Exception ex) when (!_stop.IsCancellationRequested) { _lastError = ex.Message; }
                }
                Volatile.Write(ref _isLeading, true);
                if (!LoadState()) return;
                _lead.Set(true);
                Loop();
                _lead.Set(false);
                Volatile.Write(ref _isLeading, false);
                _leadership.StepDown();
                _profiles.DropCache();
            }
        }
        catch (Exception ex) when (!_stop.IsCancellationRequested)
        {
            Die("an error escaped its loop: " + ex.Message, ex);
        }
        catch (Exception ex)
        {
            // stopping: a batch cut short by the database closing; it rolled back and is processed again after the restart
            _logger.LogInformation("Profile processor stopped during a batch ({Error})", ex.Message);
        }
        finally
        {
            _lead.Set(false);
            Interlocked.Exchange(ref _closed, 1);
            FailQueued();
        }
    }

    /// <summary>
    /// While another host leads: this host's checkpoint follows the stored one (so its status and waiters see processing
    /// move on), and commands fail at once naming the leader (they run on the processor's thread, which is the leader's).
    /// </summary>
    private void Follow()
    {
        Volatile.Write(ref _leader, _leadership.Leader());
        try
        {
            Publish(StoredCheckpoint());
        }
        catch (Exception ex)
        {
            _lastError = ex.Message;
        }
        if (_commands.IsEmpty) return;
        var error = new ProcessorUnavailableException($"this host ({_leadership.Host}) does not run the profile processor: " +
            $"{Volatile.Read(ref _leader) ?? "another host"} does (Cdp:Storage:Hosts = Several); send the request there");
        while (_commands.TryDequeue(out var command)) command.Fail(error);
    }

    /// <summary>Loads the identity map, the set-aside events and the checkpoint, retrying with backoff; false when it gave up (or stops).</summary>
    private bool LoadState()
    {
        var delay = _recovery.FirstRetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                _identity.Load();
                _failures.Load();
                Publish(StoredCheckpoint());
                if (_leadership.Shared)
                {
                    // an admin's pause (or resume) on the host that led before holds here too
                    _paused = _store.Paused();
                    if (_paused) _logger.LogWarning("Profile processing stays paused at sequence {Checkpoint}: an admin paused it before this host took the lead", _checkpoint);
                }
                Volatile.Write(ref _environmental, null);
                _logger.LogInformation("Profile processor starting after sequence {Checkpoint} ({Failed} failed events listed)", _checkpoint, _failures.Listed);
                return true;
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                _lastError = ex.Message;
                if (attempt >= _recovery.LoadAttempts)
                {
                    Die($"it could not load its state in {attempt} attempts: {ex.Message}", ex);
                    return false;
                }
                var now = _clock.GetUtcNow().UtcDateTime;
                Volatile.Write(ref _environmental, new EnvironmentalFailure("loading the processor's state failed: " + BatchFailure.Describe(ex),
                    _environmental?.Since ?? now, attempt, now + delay));
                _logger.LogError(ex, "Profile processor could not load its state (attempt {Attempt} of {Attempts}); retrying in {Delay}",
                    attempt, _recovery.LoadAttempts, delay);
                if (_stop.Token.WaitHandle.WaitOne(delay)) return false;
                delay = Doubled(delay);
            }
        }
    }

    private void Loop()
    {
        while (!_stop.IsCancellationRequested)
        {
            var wake = Volatile.Read(ref _wake);
            if (!_leadership.Leading)
            {
                _logger.LogWarning("Profile processing stops on this host ({Host}) at sequence {Checkpoint}: it lost the lead", _leadership.Host, _checkpoint);
                return;
            }
            try
            {
                while (_commands.TryDequeue(out var command)) command.Run();
                if (_paused)
                {
                    if (_commands.IsEmpty) Task.WhenAny(wake.Task, Task.Delay(Timeout.Infinite, _stop.Token)).GetAwaiter().GetResult();
                    continue;
                }
                var backoff = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), Volatile.Read(ref _retryAt));
                if (backoff > TimeSpan.Zero)
                {
                    // commands still run while an environmental failure is ridden out; batches wait for the retry time
                    if (_commands.IsEmpty) Task.WhenAny(wake.Task, Task.Delay(backoff, _stop.Token)).GetAwaiter().GetResult();
                    continue;
                }
                if (_environmental is not null) Resync();
                var events = _log.ReadAfter(_checkpoint, NextBatchSize(_log.LastSequence));
                if (events.Count == 0)
                {
                    Recovered();
                    // with several hosts, wake at least once a second to check the lead is still this host's
                    if (_commands.IsEmpty && _leadership.Shared)
                        Task.WhenAny(_log.WaitForEventsAfterAsync(_checkpoint, _stop.Token), wake.Task, Task.Delay(LeadCheck, _stop.Token)).GetAwaiter().GetResult();
                    else if (_commands.IsEmpty)
                        Task.WhenAny(_log.WaitForEventsAfterAsync(_checkpoint, _stop.Token), wake.Task).GetAwaiter().GetResult();
                    continue;
                }
                var splits = Interlocked.Read(ref _splits);
                ProcessEvents(events);
                _splitLastTime = Interlocked.Read(ref _splits) != splits;
                Recovered();
                _lastError = null;
            }
            catch (CheckpointMovedException ex) when (!_stop.IsCancellationRequested)
            {
                // another processor committed: this host's memory (identity map, caches, checkpoint) is stale; nothing of
                // this batch committed (the compare-and-set rolled it back)
                _logger.LogError("Profile processing stops on this host ({Host}): {Reason}. It reloads its state when it leads again", _leadership.Host, ex.Message);
                return;
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                EnvironmentalFailureSeen(ex);
            }
        }
    }

    private static readonly TimeSpan LeadCheck = TimeSpan.FromSeconds(1);

    /// <summary>A failure that may be an event's (so the batch is split to find it): not one after the commit, not the environment's, not a lost lead.</summary>
    private bool MayBeTheEvents(Exception ex) =>
        ex is not CommittedBatchException and not CheckpointMovedException && !BatchFailure.IsEnvironmental(ex) && !_stop.IsCancellationRequested;

    /// <summary>
    /// Processes <paramref name="events"/> (read after the checkpoint) up to the last one. Set-aside events come round
    /// again only in a reprocess: a discarded one is skipped, a listed one is tried alone at its place (applied and
    /// removed from the list when it passes now, counted again when it still fails).
    /// </summary>
    private void ProcessEvents(IReadOnlyList<LoggedEvent> events)
    {
        var through = events[^1].Sequence;
        if (!_failures.AnyFrom(events[0].Sequence))
        {
            Attempt(events, through);
            return;
        }
        var run = new List<LoggedEvent>();
        foreach (var e in events)
        {
            var state = _failures.State(e.Sequence);
            if (state is null)
            {
                run.Add(e);
                continue;
            }
            if (state == true)
            {
                // discarded: the run before it commits a checkpoint past it (an empty run only the checkpoint)
                Attempt(run, e.Sequence);
                run = [];
                continue;
            }
            if (run.Count > 0) Attempt(run, e.Sequence - 1);
            run = [];
            Attempt([e], e.Sequence, resolvesFailure: true);
        }
        if (run.Count > 0) Attempt(run, through);
    }

    /// <summary>
    /// Commits <paramref name="events"/> with the checkpoint <paramref name="through"/>. When that fails for a reason that
    /// may be an event's, the halves are attempted in order, each in its own transaction, down to single events: an event
    /// that fails alone is set aside. Environmental failures are not caught here: the loop retries from the checkpoint
    /// (what committed before stays committed).
    /// </summary>
    private void Attempt(IReadOnlyList<LoggedEvent> events, long through, bool resolvesFailure = false)
    {
        try
        {
            ProcessBatch(events, through, resolvesFailure);
        }
        catch (Exception ex) when (MayBeTheEvents(ex))
        {
            if (events.Count == 1)
            {
                FailedAlone(events[0], through, ex, resolvesFailure);
                return;
            }
            Interlocked.Increment(ref _splits);
            _logger.LogWarning("A batch of {Count} events ({First}-{Last}) failed ({Error}); splitting it to find the event(s) that fail alone",
                events.Count, events[0].Sequence, events[^1].Sequence, ex.GetType().Name + ": " + ex.Message);
            var half = events.Count / 2;
            var left = events.Take(half).ToList();
            Attempt(left, left[^1].Sequence);
            Attempt(events.Skip(half).ToList(), through);
        }
    }

    /// <summary>
    /// <paramref name="e"/> failed alone. Out of memory may be everyone's: it gets one more attempt after a full
    /// collection. Then it is set aside: recorded with its exception, and the checkpoint passes it.
    /// </summary>
    private void FailedAlone(LoggedEvent e, long through, Exception ex, bool wasListed)
    {
        if (BatchFailure.IsOutOfMemory(ex))
        {
            _profiles.DropCache();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            try
            {
                ProcessBatch([e], through, wasListed);
                return;
            }
            catch (Exception again) when (MayBeTheEvents(again))
            {
                ex = again;
            }
        }
        var (type, name) = Describe(e);
        var at = _clock.GetUtcNow().UtcDateTime;
        _transactions.InTransaction(tx =>
        {
            _failures.Record(tx, e, type, name, ex, at);
            _store.WriteCheckpoint(tx, Interlocked.Read(ref _checkpoint), through);
        });
        _failures.Committed(e.Sequence, discarded: false, newlySetAside: true);
        Recovered(); // a commit went through: whoever the checkpoint wakes sees the environment healthy
        Publish(through);
        _logger.LogError(ex, "Event {Sequence} ({Type} {Name}, source {Source}, messageId {MessageId}) fails alone and is set aside{Again}; " +
            "processing goes on. Retry or discard it: /api/profiles/processor/failures", e.Sequence, type, name, e.Source, e.MessageId,
            wasListed ? " again" : "");
    }

    /// <summary>The event's type and name (track event, page or screen name) for the failures list; "unreadable" when its JSON is not.</summary>
    private static (string Type, string? Name) Describe(LoggedEvent e)
    {
        try
        {
            using var doc = JsonDocument.Parse(e.Json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return ("unreadable", null);
            var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "track";
            var key = type == "track" ? "event" : "name";
            var name = root.TryGetProperty(key, out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            return (type, name is { Length: > 200 } ? name[..200] : name);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException) // InvalidOperation: a string that is not text
        {
            return ("unreadable", null);
        }
    }

    /// <summary>A failure the events cannot explain (or any failure outside a batch): retry later, doubling the wait.</summary>
    private void EnvironmentalFailureSeen(Exception ex)
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        var previous = _environmental;
        _retryDelay = previous is null ? _recovery.FirstRetryDelay : Doubled(_retryDelay);
        Volatile.Write(ref _retryAt, Stopwatch.GetTimestamp() + (long)(_retryDelay.TotalSeconds * Stopwatch.Frequency));
        var reason = BatchFailure.Describe(ex);
        var failure = new EnvironmentalFailure(reason, previous?.Since ?? now, (previous?.Attempts ?? 0) + 1, now + _retryDelay);
        Volatile.Write(ref _environmental, failure);
        _lastError = reason;
        if (previous is null)
            _logger.LogError(ex, "Profile processing failed after sequence {Checkpoint} for a reason outside the events ({Reason}): nothing is set aside; " +
                "retrying in {Delay} (doubling up to {Max}); /health/ready is unhealthy until it works again", _checkpoint, reason, _retryDelay, _recovery.MaxRetryDelay);
        else
            _logger.LogWarning("Profile processing still fails after sequence {Checkpoint} ({Reason}); attempt {Attempt} since {Since:u}, next in {Delay}",
                _checkpoint, reason, failure.Attempts, failure.Since, _retryDelay);
    }

    private TimeSpan Doubled(TimeSpan delay) => delay * 2 > _recovery.MaxRetryDelay ? _recovery.MaxRetryDelay : delay * 2;

    private void Recovered()
    {
        if (_environmental is not { } failure) return;
        Volatile.Write(ref _environmental, null);
        _retryDelay = TimeSpan.Zero;
        _logger.LogWarning("Profile processing works again after {Duration} and {Attempts} failed attempts ({Reason}); it goes on from sequence {Checkpoint}",
            _clock.GetUtcNow().UtcDateTime - failure.Since, failure.Attempts, failure.Reason, _checkpoint);
    }

    /// <summary>
    /// Before a retry: a failure after the commit (an fsync of a durable commit, publishing the batch) leaves the database
    /// ahead of memory. Then the identity map, the caches and the checkpoint are loaded again from what committed.
    /// </summary>
    private void Resync()
    {
        var stored = StoredCheckpoint();
        if (stored == Interlocked.Read(ref _checkpoint)) return;
        _logger.LogWarning("The database is ahead of the processor's memory (checkpoint {Stored}, in memory {Memory}): a batch committed before its " +
            "failure; reloading the identity map and dropping the caches", stored, _checkpoint);
        ReloadCommittedState();
        Publish(stored);
    }

    private void ReloadCommittedState()
    {
        _profiles.DropCache();
        _identity.Load();
        _failures.Load();
    }

    private long StoredCheckpoint() => _store.Checkpoint();



    /// <summary>The thread cannot go on: commands and waiters fail from now on, readiness is unhealthy, and the host stops (exit code 5).</summary>
    private void Die(string reason, Exception ex)
    {
        Volatile.Write(ref _deadReason, reason);
        Volatile.Write(ref _environmental, null);
        _lastError = ex.Message;
        Interlocked.Exchange(ref _closed, 1);
        FailQueued();
        lock (_waiters)
        {
            foreach (var (_, done) in _waiters) done.TrySetException(Unavailable());
            _waiters.Clear();
        }
        var stopping = _recovery.StopHostWhenDead && !_lifetime.ApplicationStopping.IsCancellationRequested;
        _logger.LogCritical(ex, "The profile processor stopped for good: {Reason}. Commands fail, /health/ready is unhealthy{Stop}", reason,
            stopping ? $"; stopping Cdp with exit code {ProfileProcessorExit.ProcessorDead} so that the service manager restarts it" : "");
        // once the host has started (stopping it while it starts fails its start instead), from the thread pool: the host's
        // stopping callbacks must not run on (and wait for) this thread. Runs at once when the host has already started.
        if (stopping) _lifetime.ApplicationStarted.Register(() => Task.Run(_lifetime.StopApplication));
    }

    /// <summary>
    /// The backlog (log head - checkpoint), at least Cdp:Profiles:BatchSize and at most
    /// Cdp:Profiles:CatchUpBatchSize. A processor that keeps up stays on small batches (short holds of
    /// the write gate collection needs, fresh profiles); one that falls behind gets bigger batches, which write far
    /// fewer pages per event, until it catches up. A fixed small size under a load it cannot follow would fall behind
    /// for good (seen at 300k profiles: 500-event batches could not follow 3,900 events/s).
    /// </summary>
    private int NextBatchSize(long head) => _splitLastTime
        ? _sizes.BatchSize // failing events about: a split of a small batch redoes less work (cleared by a batch without a split)
        : BatchSizeFor(head - _checkpoint, _sizes.BatchSize, _sizes.CatchUpBatchSize, _sizes.MaxWriteMilliseconds, _writeMsPerEvent);

    /// <summary>
    /// The size rule: the backlog, at least <paramref name="batchSize"/>, at most <paramref name="catchUp"/>, and no more
    /// than the events whose writes fit in <paramref name="maxWriteMs"/> at the last batch's cost per event (the write
    /// phase holds the one-writer gate that every collection commit waits for: its length is what ingest latency sees).
    /// </summary>
    internal static int BatchSizeFor(long backlog, int batchSize, int catchUp, int maxWriteMs, double writeMsPerEvent)
    {
        var most = Math.Max(batchSize, catchUp);
        if (writeMsPerEvent > 0) most = (int)Math.Clamp(maxWriteMs / writeMsPerEvent, batchSize, most);
        return (int)Math.Clamp(backlog, batchSize, most);
    }

    /// <summary>
    /// One transaction: <paramref name="events"/> (possibly none) and the checkpoint <paramref name="through"/> (at least the
    /// last event's sequence: set-aside events after it are passed too). <paramref name="resolvesFailure"/>: the one event is a
    /// listed failure tried again in a reprocess; it leaves the list in the same transaction. Throws only before its commit
    /// is done; a failure after it is a <see cref="CommittedBatchException"/> (the batch must not be applied again).
    /// </summary>
    private void ProcessBatch(IReadOnlyList<LoggedEvent> events, long through, bool resolvesFailure = false)
    {
        var identity = _identity.BeginBatch();
        var work = _profiles.Begin();
        long unattributed = 0;
        foreach (var e in events)
        {
            if (!Resolve(identity, work, e)) unattributed++;
        }
        foreach (var m in identity.ReplayLinks(through)) work.Merge(m.Winner, m.Loser);
        var writeStart = Stopwatch.GetTimestamp();
        ProfileBatch? batch = null;
        _transactions.InTransaction(tx =>
        {
            identity.Write(tx);
            work.Write(tx);
            if (events.Count > 0) batch = OnBatch(tx, ProfileBatchKind.Events, events[0].Sequence, through, work.Changes);
            if (resolvesFailure) _store.RemoveFailure(tx, events[0].Sequence);
            _store.WriteCheckpoint(tx, Interlocked.Read(ref _checkpoint), through);
        });
        try
        {
            var writeMs = Stopwatch.GetElapsedTime(writeStart).TotalMilliseconds;
            identity.Committed();
            work.Committed();
            Committed(batch);
            if (resolvesFailure)
            {
                _failures.Committed(events[0].Sequence, discarded: null);
                _logger.LogWarning("Event {Sequence}, a listed failure, was processed at its place in the log and left the failures list", events[0].Sequence);
            }
            // a batch smaller than BatchSize is mostly fixed cost: its per-event figure would cut the next batches too short
            if (events.Count >= _sizes.BatchSize) _writeMsPerEvent = writeMs / events.Count;
            Volatile.Write(ref _lastBatchWriteMs, writeMs);
            var now = _clock.GetUtcNow().UtcDateTime;
            foreach (var e in events) _freshness.Add((now - e.ReceivedAt).TotalMilliseconds);
            Interlocked.Add(ref _processed, events.Count);
            Volatile.Write(ref _lastBatchEvents, events.Count);
            Interlocked.Add(ref _unattributed, unattributed);
            if (events.Count > 0) UpdateRate(events.Count);
        }
        catch (Exception ex)
        {
            throw new CommittedBatchException(through, ex);
        }
        Recovered(); // a commit went through: whoever the checkpoint wakes sees the environment healthy
        Publish(through);
    }

    /// <summary>
    /// Inside the transaction: hands the changes (built only when someone listens; the argument is the time their views'
    /// computed traits are evaluated at) to every participant. Null when there are none.
    /// </summary>
    private ProfileBatch? OnBatch(IUnitOfWork tx, ProfileBatchKind kind, long first, long last, Func<DateTime, IReadOnlyList<ProfileChange>> changes)
    {
        if (_participants.Count == 0) return null;
        var batch = new ProfileBatch(kind, first, last, changes(_clock.GetUtcNow().UtcDateTime));
        foreach (var p in _participants) p.OnBatch(batch, tx);
        return batch;
    }

    /// <summary>Tells the participants their writes for <paramref name="batch"/> committed (null: there were none).</summary>
    private void Committed(ProfileBatch? batch)
    {
        if (batch is null) return;
        foreach (var p in _participants)
        {
            // after the commit nothing may fail the batch (it would be applied twice): a participant's error is only logged
            try { p.Committed(batch); }
            catch (Exception ex) { _logger.LogError(ex, "Batch participant {Participant} failed after the commit of sequences {First}-{Last}", p.GetType().Name, batch.FirstSequence, batch.LastSequence); }
        }
    }

    private static bool Resolve(IIdentityBatch identity, IProfileWork work, LoggedEvent e)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(e.Json); }
        catch (JsonException) { return false; } // the log only holds validated JSON; kept for safety
        using (doc)
        {
            var payload = doc.RootElement;
            // probabilistic merges decided between the previous event and this one (replays only; live ones are Link commands)
            foreach (var m in identity.ReplayLinks(e.Sequence - 1)) work.Merge(m.Winner, m.Loser);
            work.ApplyAccount(e, payload);
            var resolved = identity.Resolve(e, payload);
            foreach (var m in resolved.Merges) work.Merge(m.Winner, m.Loser);
            if (resolved.Profile == 0) return false;
            work.Apply(resolved.Profile, resolved.Created, e, payload);
            return true;
        }
    }

    private UnmergeResult? Unmerge(string mergeId)
    {
        _profiles.DropCache();
        var plan = _identity.BeginUnmerge(mergeId, _clock.GetUtcNow().UtcDateTime, _profiles.Timeline);
        if (plan is null) return null;
        var work = _profiles.BeginRebuild(plan.DissolvedProfiles);
        foreach (var e in plan.Events) Resolve(plan.Batch, work, e);
        foreach (var m in plan.Batch.ReplayLinks(long.MaxValue)) work.Merge(m.Winner, m.Loser);
        IReadOnlyList<ProfileChange> changes = [];
        ProfileBatch? batch = null;
        _transactions.InTransaction(tx =>
        {
            plan.Batch.Write(tx);
            work.Write(tx);
            changes = work.Changes(_clock.GetUtcNow().UtcDateTime);
            batch = OnBatch(tx, ProfileBatchKind.Unmerge, plan.Events.Count > 0 ? plan.Events[0].Sequence : 0, _checkpoint, _ => changes);
        });
        plan.Batch.Committed();
        Committed(batch);
        var profiles = changes.Where(c => c.Kind is ProfileChangeKind.Created or ProfileChangeKind.Updated).Select(c => c.ProfileId).Order(StringComparer.Ordinal).ToList();
        _logger.LogWarning("Unmerged {MergeId}: {Live} live profile(s) around {Root} recomputed from {Events} events into {Profiles}",
            mergeId, plan.LiveProfiles.Count, plan.RootProfile, plan.Events.Count, string.Join(", ", profiles));
        return new UnmergeResult(mergeId, ProfileIds.Format(plan.RootProfile), profiles, plan.Events.Count);
    }

    /// <summary>Probabilistic merges, applied after the current checkpoint in one transaction (like a batch without events).</summary>
    private IReadOnlyList<LinkOutcome> Link(IReadOnlyList<ProfileLink> links)
    {
        var identity = _identity.BeginBatch();
        var work = _profiles.Begin();
        var at = _clock.GetUtcNow().UtcDateTime;
        var outcomes = new List<LinkOutcome>(links.Count);
        foreach (var link in links)
        {
            var outcome = identity.Link(link, _checkpoint, at);
            if (outcome.Merge is { } m) work.Merge(m.Winner, m.Loser);
            outcomes.Add(outcome);
        }
        if (outcomes.All(o => o.Merge is null)) return outcomes;
        ProfileBatch? batch = null;
        _transactions.InTransaction(tx =>
        {
            identity.Write(tx);
            work.Write(tx);
            batch = OnBatch(tx, ProfileBatchKind.Events, _checkpoint + 1, _checkpoint, work.Changes);
        });
        identity.Committed();
        work.Committed();
        Committed(batch);
        _logger.LogInformation("Probabilistic merges: {Merged} of {Links} links applied after sequence {Checkpoint}",
            outcomes.Count(o => o.Merge is not null), links.Count, _checkpoint);
        return outcomes;
    }

    /// <summary>Re-runs a listed failure now (after a fix): applied after the current checkpoint, then removed from the list.</summary>
    public Task<FailureRetryOutcome> RetryFailureAsync(long sequence, CancellationToken cancellationToken) =>
        Post(() => RetryFailure(sequence), cancellationToken);

    /// <summary>Discards a listed failure: it stays skipped (a reprocess skips it too) and leaves the list; false when it is not listed.</summary>
    public Task<bool> DiscardFailureAsync(long sequence, string by, CancellationToken cancellationToken) => Post(() =>
    {
        if (_failures.State(sequence) != false) return false;
        var discarded = _transactions.InTransaction(tx => _store.DiscardFailure(tx, sequence, by, _clock.GetUtcNow().UtcDateTime));
        if (!discarded) return false;
        _failures.Committed(sequence, discarded: true);
        _logger.LogWarning("Failed event {Sequence} discarded by {By}: it stays skipped, also by a reprocess", sequence, by);
        return true;
    }, cancellationToken);

    /// <summary>
    /// The event was skipped, so nothing of it is in the projections: applying it now, like a batch of one after the
    /// checkpoint, adds exactly its effects. Order-free results (counters, sums, traits and consent by their timestamps,
    /// First/Last by timestamp, segment day counters) end as if it had been processed in place; the timeline index is
    /// put back in sequence order (Profiles' SortTimeline); what depends on processing order (merges it causes happen
    /// now, Unique's first values) follows the order it was applied in. A reprocess puts it at its place in the log.
    /// </summary>
    private FailureRetryOutcome RetryFailure(long sequence)
    {
        switch (_failures.State(sequence))
        {
            case null: return FailureRetryOutcome.NotListed;
            case true: return FailureRetryOutcome.Discarded;
        }
        // listed events lie behind the checkpoint, except during a reprocess that has not reached them yet (it will try them)
        if (sequence > Interlocked.Read(ref _checkpoint)) return FailureRetryOutcome.NotReached;
        var e = _log.ReadAfter(sequence - 1, 1) is [var found] && found.Sequence == sequence ? found : null;
        if (e is null) return FailureRetryOutcome.NotListed;
        try
        {
            ApplyLate(e);
            _logger.LogWarning("Failed event {Sequence} retried by an admin: applied now and removed from the failures list", sequence);
            return FailureRetryOutcome.Applied;
        }
        catch (Exception ex) when (ex is not CommittedBatchException and not CheckpointMovedException && !BatchFailure.IsEnvironmental(ex))
        {
            var (type, name) = Describe(e);
            _transactions.InTransaction(tx => _failures.Record(tx, e, type, name, ex, _clock.GetUtcNow().UtcDateTime));
            _logger.LogWarning(ex, "Failed event {Sequence} retried by an admin fails again; it stays listed", sequence);
            return FailureRetryOutcome.FailedAgain(ex.GetType().Name + ": " + ex.Message);
        }
    }

    private void ApplyLate(LoggedEvent e)
    {
        var identity = _identity.BeginBatch();
        var work = _profiles.Begin();
        Resolve(identity, work, e);
        var changes = work.Changes(_clock.GetUtcNow().UtcDateTime);
        ProfileBatch? batch = null;
        _transactions.InTransaction(tx =>
        {
            identity.Write(tx);
            work.Write(tx);
            batch = OnBatch(tx, ProfileBatchKind.Events, e.Sequence, _checkpoint, _ => changes);
            foreach (var c in changes)
                if (c.Kind is ProfileChangeKind.Created or ProfileChangeKind.Updated && ProfileIds.TryParse(c.ProfileId, out var no)) _profiles.SortTimeline(tx, no);
            _store.RemoveFailure(tx, e.Sequence);
        });
        try
        {
            identity.Committed();
            work.Committed();
            _profiles.DropCache(); // its profiles' timelines were re-sorted in the database, not in the cached copies
            Committed(batch);
            _failures.Committed(e.Sequence, discarded: null);
            Interlocked.Increment(ref _processed);
        }
        catch (Exception ex)
        {
            _logger.LogCritical(ex, "Publishing the retry of event {Sequence} failed after its commit; reloading the processor's state", e.Sequence);
            ReloadCommittedState();
        }
    }

    private void Reset()
    {
        _transactions.InTransaction(tx =>
        {
            _identity.Reset(tx);
            _profiles.Reset(tx);
            foreach (var p in _participants) p.OnReset(tx);
            _store.WriteCheckpoint(tx, Interlocked.Read(ref _checkpoint), 0);
        });
        _identity.Load();
        _profiles.DropCache();
        Interlocked.Exchange(ref _checkpoint, 0);
        _logger.LogWarning("Reprocess: identity graph and profiles cleared; rebuilding from the event log ({Head} events; {Failed} listed failures are tried " +
            "again at their place, discarded ones stay skipped)", _log.LastSequence, _failures.Listed);
    }

    private void Publish(long checkpoint)
    {
        Interlocked.Exchange(ref _checkpoint, checkpoint);
        lock (_waiters)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Sequence > checkpoint) continue;
                _waiters[i].Done.TrySetResult();
                _waiters.RemoveAt(i);
            }
        }
    }

    private void UpdateRate(int events)
    {
        var seconds = _rateClock.Elapsed.TotalSeconds;
        _rateClock.Restart();
        if (seconds > 0) Volatile.Write(ref _rate, events / seconds);
    }

    private interface IQueuedCommand
    {
        void Run();

        void Fail(Exception error);
    }

    private sealed class QueuedCommand<T>(Func<T> command) : IQueuedCommand
    {
        public TaskCompletionSource<T> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Run()
        {
            try { Done.TrySetResult(command()); }
            catch (Exception ex) { Done.TrySetException(ex); }
        }

        public void Fail(Exception error) => Done.TrySetException(error);
    }

    /// <summary>An environmental failure being ridden out: why, since when, how many attempts failed, when the next one is.</summary>
    private sealed record EnvironmentalFailure(string Reason, DateTime Since, int Attempts, DateTime NextRetryAt);

    /// <summary>A batch committed, then publishing it in memory failed: never retried as a batch (it would apply twice).</summary>
    private sealed class CommittedBatchException(long through, Exception inner)
        : Exception($"the batch through sequence {through} committed, then failed: {inner.Message}", inner);

    /// <summary>Received (log commit = ack) -> committed to the profile, for the events committed in the last 10 seconds.</summary>
    private sealed class Freshness
    {
        private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
        private const int MaxSamples = 200_000;
        private readonly Queue<(long At, double Ms)> _samples = new();

        public void Add(double ms)
        {
            var now = Stopwatch.GetTimestamp();
            lock (_samples)
            {
                _samples.Enqueue((now, ms));
                while (_samples.Count > MaxSamples || (_samples.TryPeek(out var head) && Stopwatch.GetElapsedTime(head.At, now) > Window)) _samples.Dequeue();
            }
        }

        public double P95Milliseconds
        {
            get
            {
                double[] copy;
                lock (_samples) copy = _samples.Select(s => s.Ms).ToArray();
                if (copy.Length == 0) return 0;
                Array.Sort(copy);
                return copy[(int)Math.Min(copy.Length - 1, Math.Ceiling(copy.Length * 0.95) - 1)];
            }
        }
    }
}
