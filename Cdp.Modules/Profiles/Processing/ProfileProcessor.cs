using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Profiles.Projection;
using Cdp.Modules.Shared.Memory;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Profiles.Processing;

/// <summary>
/// The one processing loop: reads the event log after its checkpoint in batches, resolves identities, updates
/// profiles, lets the batch participants (segments...) add their writes, and commits all of it together with the
/// new checkpoint in ONE LiteDB transaction on its dedicated thread (nothing awaits inside it).
/// Invariant: a batch replayed after a crash changes nothing twice, because its effects and the checkpoint that
/// skips it commit together; the in-memory identity map is published only after the commit.
/// Admin commands (unmerge, reprocess) run on the same thread between batches.
/// </summary>
[Service]
internal sealed class ProfileProcessor : IHostedService, IProfileProcessor, IDisposable
{
    private const string CheckpointId = "checkpoint";

    private readonly CdpDatabase _db;
    private readonly IEventLog _log;
    private readonly IIdentityResolver _identity;
    private readonly IReadOnlyList<IProfileBatchParticipant> _participants;
    private readonly ProfilesOptions _options;
    private readonly ComputedTraits _computed;
    private readonly TimeProvider _clock;
    private readonly ILogger<ProfileProcessor> _logger;
    private readonly ConcurrentQueue<Action> _commands = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Freshness _freshness = new();
    /// <summary>
    /// Recently written profiles (Cdp:Profiles:CachedProfiles, ~3-4 KB each), so a returning visitor costs no read; this
    /// thread is the only writer of profiles. A batch takes its profiles out and puts them back after its commit.
    /// </summary>
    private readonly BoundedCache<ProfileState> _cache;
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

    public ProfileProcessor(CdpDatabase db, IEventLog log, IIdentityResolver identity, IEnumerable<IProfileBatchParticipant> participants,
        IOptions<ProfilesOptions> options, ComputedTraits computed, TimeProvider clock, ILogger<ProfileProcessor> logger)
    {
        _db = db;
        _log = log;
        _identity = identity;
        _participants = participants.ToList();
        _options = options.Value;
        _cache = new BoundedCache<ProfileState>(_options.CachedProfiles);
        _computed = computed;
        _clock = clock;
        _logger = logger;
    }

    public ProcessorStatus Status => new(_thread is { IsAlive: true }, Interlocked.Read(ref _checkpoint), _log.LastSequence,
        Interlocked.Read(ref _processed), Interlocked.Read(ref _unattributed), Volatile.Read(ref _rate), _freshness.P95Milliseconds, _lastError, _paused,
        Volatile.Read(ref _lastBatchEvents), Volatile.Read(ref _lastBatchWriteMs));

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
        finally { _cache.Clear(); }
    }, cancellationToken);

    public Task PauseAsync(CancellationToken cancellationToken) => Post(() =>
    {
        if (!_paused) _logger.LogWarning("Profile processing paused at sequence {Checkpoint}; events are still collected", _checkpoint);
        _paused = true;
        return true;
    }, cancellationToken);

    public Task ResumeAsync(CancellationToken cancellationToken) => Post(() =>
    {
        if (_paused) _logger.LogWarning("Profile processing resumed at sequence {Checkpoint} ({Lag} events waiting)", _checkpoint, _log.LastSequence - _checkpoint);
        _paused = false;
        return true;
    }, cancellationToken);

    public Task ReprocessAsync(CancellationToken cancellationToken) => Post(() => { Reset(); return true; }, cancellationToken);

    public Task<IReadOnlyList<LinkOutcome>> LinkAsync(IReadOnlyList<ProfileLink> links, CancellationToken cancellationToken) =>
        Post(() => Link(links), cancellationToken);

    private Task<T> Post<T>(Func<T> command, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _commands.Enqueue(() =>
        {
            try { done.TrySetResult(command()); }
            catch (Exception ex) { done.TrySetException(ex); }
        });
        Wake();
        return done.Task.WaitAsync(cancellationToken);
    }

    private void Wake() => Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private void Run()
    {
        try
        {
            _identity.Load();
            Publish(_db.Collection(ProfileSchema.State).FindById(CheckpointId)?["seq"].AsInt64 ?? 0);
            _logger.LogInformation("Profile processor starting after sequence {Checkpoint}", _checkpoint);
        }
        catch (Exception ex)
        {
            _lastError = ex.Message;
            _logger.LogCritical(ex, "Profile processor could not load its state");
            return;
        }
        while (!_stop.IsCancellationRequested)
        {
            var wake = Volatile.Read(ref _wake);
            try
            {
                while (_commands.TryDequeue(out var command)) command();
                if (_paused)
                {
                    if (_commands.IsEmpty) Task.WhenAny(wake.Task, Task.Delay(Timeout.Infinite, _stop.Token)).GetAwaiter().GetResult();
                    continue;
                }
                var events = _log.ReadAfter(_checkpoint, NextBatchSize(_log.LastSequence));
                if (events.Count == 0)
                {
                    if (_commands.IsEmpty)
                        Task.WhenAny(_log.WaitForEventsAfterAsync(_checkpoint, _stop.Token), wake.Task).GetAwaiter().GetResult();
                    continue;
                }
                ProcessBatch(events);
                _lastError = null;
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                // nothing of the failed batch was published: the identity map and the checkpoint are as before it
                _lastError = ex.Message;
                _logger.LogError(ex, "Profile processing failed after sequence {Checkpoint}; retrying in 1 s", _checkpoint);
                _stop.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>
    /// The backlog (log head - checkpoint), at least <see cref="ProfilesOptions.BatchSize"/> and at most
    /// <see cref="ProfilesOptions.CatchUpBatchSize"/>. A processor that keeps up stays on small batches (short holds of
    /// the write gate collection needs, fresh profiles); one that falls behind gets bigger batches, which write far
    /// fewer pages per event, until it catches up. A fixed small size under a load it cannot follow would fall behind
    /// for good (seen at 300k profiles: 500-event batches could not follow 3,900 events/s).
    /// </summary>
    private int NextBatchSize(long head) =>
        BatchSizeFor(head - _checkpoint, _options.BatchSize, _options.CatchUpBatchSize, _options.MaxWriteMilliseconds, _writeMsPerEvent);

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

    private void ProcessBatch(IReadOnlyList<LoggedEvent> events)
    {
        var identity = _identity.BeginBatch();
        var work = new ProfileWork(_db, _options, _computed, _cache);
        long unattributed = 0;
        foreach (var e in events)
        {
            if (!Resolve(identity, work, e)) unattributed++;
        }
        var last = events[^1].Sequence;
        foreach (var m in identity.ReplayLinks(last)) work.Merge(m.Winner, m.Loser);
        var writeStart = Stopwatch.GetTimestamp();
        ProfileBatch? batch = null;
        _db.InTransaction(db =>
        {
            identity.Write(db);
            work.Write(db);
            batch = OnBatch(db, ProfileBatchKind.Events, events[0].Sequence, last, work.Changes);
            db.GetCollection(ProfileSchema.State).Upsert(new BsonDocument { ["_id"] = CheckpointId, ["seq"] = last });
        });
        var writeMs = Stopwatch.GetElapsedTime(writeStart).TotalMilliseconds;
        identity.Committed();
        work.Committed();
        Committed(batch);
        // a batch smaller than BatchSize is mostly fixed cost: its per-event figure would cut the next batches too short
        if (events.Count >= _options.BatchSize) _writeMsPerEvent = writeMs / events.Count;
        Volatile.Write(ref _lastBatchWriteMs, writeMs);
        var now = _clock.GetUtcNow().UtcDateTime;
        foreach (var e in events) _freshness.Add((now - e.ReceivedAt).TotalMilliseconds);
        Interlocked.Add(ref _processed, events.Count);
        Volatile.Write(ref _lastBatchEvents, events.Count);
        Interlocked.Add(ref _unattributed, unattributed);
        UpdateRate(events.Count);
        Publish(last);
    }

    /// <summary>
    /// Inside the transaction: hands the changes (built only when someone listens; the argument is the time their views'
    /// computed traits are evaluated at) to every participant. Null when there are none.
    /// </summary>
    private ProfileBatch? OnBatch(LiteDatabase db, ProfileBatchKind kind, long first, long last, Func<DateTime, List<ProfileChange>> changes)
    {
        if (_participants.Count == 0) return null;
        var batch = new ProfileBatch(kind, first, last, changes(_clock.GetUtcNow().UtcDateTime));
        foreach (var p in _participants) p.OnBatch(batch, db);
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

    private static bool Resolve(IIdentityBatch identity, ProfileWork work, LoggedEvent e)
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
        _cache.Clear();
        var plan = _identity.BeginUnmerge(mergeId, _clock.GetUtcNow().UtcDateTime, p => ProfileTimeline.All(_db, p));
        if (plan is null) return null;
        var work = new ProfileWork(_db, _options, _computed, null, plan.DissolvedProfiles);
        foreach (var e in plan.Events) Resolve(plan.Batch, work, e);
        foreach (var m in plan.Batch.ReplayLinks(long.MaxValue)) work.Merge(m.Winner, m.Loser);
        List<ProfileChange> changes = [];
        ProfileBatch? batch = null;
        _db.InTransaction(db =>
        {
            plan.Batch.Write(db);
            work.Write(db);
            changes = work.Changes(_clock.GetUtcNow().UtcDateTime);
            batch = OnBatch(db, ProfileBatchKind.Unmerge, plan.Events.Count > 0 ? plan.Events[0].Sequence : 0, _checkpoint, _ => changes);
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
        var work = new ProfileWork(_db, _options, _computed, _cache);
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
        _db.InTransaction(db =>
        {
            identity.Write(db);
            work.Write(db);
            batch = OnBatch(db, ProfileBatchKind.Events, _checkpoint + 1, _checkpoint, work.Changes);
        });
        identity.Committed();
        work.Committed();
        Committed(batch);
        _logger.LogInformation("Probabilistic merges: {Merged} of {Links} links applied after sequence {Checkpoint}",
            outcomes.Count(o => o.Merge is not null), links.Count, _checkpoint);
        return outcomes;
    }

    private void Reset()
    {
        _db.InTransaction(db =>
        {
            _identity.Reset(db);
            foreach (var c in new[] { ProfileSchema.Profiles, ProfileSchema.Timeline, ProfileSchema.Accounts }) db.GetCollection(c).DeleteAll();
            foreach (var p in _participants) p.OnReset(db);
            db.GetCollection(ProfileSchema.State).Upsert(new BsonDocument { ["_id"] = CheckpointId, ["seq"] = 0L });
        });
        _identity.Load();
        _cache.Clear();
        Interlocked.Exchange(ref _checkpoint, 0);
        _logger.LogWarning("Reprocess: identity graph and profiles cleared; rebuilding from the event log ({Head} events)", _log.LastSequence);
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
