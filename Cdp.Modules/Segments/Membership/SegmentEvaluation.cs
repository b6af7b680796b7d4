using System.Diagnostics;
using Cdp.Modules.Pipeline.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Evaluation;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Cdp.Modules.Identity.Contracts;

namespace Cdp.Modules.Segments.Membership;

/// <summary>What one full evaluation (sweep or build) did.</summary>
internal sealed record SweepResult(string Kind, DateTime At, long Profiles, int Segments, int Changes, double Seconds);

/// <summary>
/// Full evaluations, one at a time: the sweep (time passing: windows that expire, relative dates, windowed computed
/// traits) re-evaluates every built segment for every profile; a build evaluates new or changed segments (and their
/// dependents) for every profile, first recounting from the profiles' events any counter that was not kept before.
/// Each page of profiles is one transaction under the segment lock, so it interleaves safely with the processor.
/// Builds run here when a definition changes; sweeps run as the recurring job "segment-sweep" (SegmentSweepJobKind).
/// </summary>
[Service]
internal sealed class SegmentEvaluation : IHostedService, IDisposable
{
    /// <summary>Profiles per transaction: big enough to amortise the commit, small enough not to stall the processor.</summary>
    public const int PageSize = 2000;

    private readonly IUnitOfWorkFactory _db;
    private readonly ISegmentStore _store;
    private readonly SegmentCatalogue _catalogue;
    private readonly IProfileReader _profiles;
    private readonly TimeProvider _clock;
    private readonly ILogger<SegmentEvaluation> _logger;
    private readonly SemaphoreSlim _one = new(1, 1);
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private readonly StoredSegmentStates _stored;

    public SegmentEvaluation(IUnitOfWorkFactory db, ISegmentStore store, SegmentCatalogue catalogue, IProfileReader profiles, TimeProvider clock,
        ILogger<SegmentEvaluation> logger, StoredSegmentStates stored, HostLead lead)
    {
        _lead = lead;
        _db = db;
        _store = store;
        _stored = stored;
        _catalogue = catalogue;
        _profiles = profiles;
        _clock = clock;
        _logger = logger;
        _catalogue.BuildNeeded += () => _signal.Release();
        // several hosts: the host that takes the lead builds what another host left unbuilt
        _lead.Changed += leads => { if (leads) _signal.Release(); };
    }

    private readonly HostLead _lead;

    public string? LastError { get; private set; }

    public SweepResult? LastSweep { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _store.Prepare();
        _loop = Task.Run(LoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_disposed) return;
        _stop.Cancel();
        if (_loop is not null) await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private bool _disposed;

    public void Dispose()
    {
        _disposed = true;
        _stop.Dispose();
        _one.Dispose();
        _signal.Dispose();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                // builds run beside the processor, which evaluates a building segment only for profiles the build passed
                // (BuildProgress, in memory): with several hosts, only on the one that runs it
                if (_lead.Leads) BuildPending();
                LastError = null;
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                LastError = ex.Message;
                _logger.LogError(ex, "Segment evaluation failed; retrying in a minute");
            }
            try { await _signal.WaitAsync(TimeSpan.FromMinutes(1), _stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    public DateTime? LastSweepAt()
    {
        return _store.Live().Time(SegmentLive.Sweep);
    }

    /// <summary>Re-evaluates every built segment for every profile now (the time-window sweep).</summary>
    public SweepResult Sweep()
    {
        RefuseUnlessLeading("segment sweeps");
        _one.Wait();
        try
        {
            var result = Run("sweep", s => s.Built, [], "time passed (sweep)", SegmentLive.Sweep);
            LastSweep = result;
            _logger.LogInformation("Segment sweep: {Profiles} profiles x {Segments} segments, {Changes} changes in {Seconds:0.0} s",
                result.Profiles, result.Segments, result.Changes, result.Seconds);
            return result;
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>Builds the segments not built yet (new or changed definitions); null when there is nothing to build.</summary>
    public SweepResult? BuildPending()
    {
        RefuseUnlessLeading("segment builds");
        _one.Wait();
        try
        {
            var set = _catalogue.Current;
            var pending = set.Ordered.Where(s => !s.Built).Select(s => s.No).ToList();
            if (pending.Count == 0) return null;
            var targets = set.WithDependents(pending);
            var kept = _store.KeptCounters();
            var backfill = set.Counters.Where(c => !kept.TryGetValue(c.Id, out var r) || r < c.RetentionDays).Select(c => c.Id).ToHashSet();
            var versions = set.Ordered.Where(s => targets.Contains(s.No)).ToDictionary(s => s.No, s => s.UpdatedAt);
            foreach (var no in targets) _catalogue.BuildProgress[no] = 0;
            SweepResult result;
            try
            {
                // marked built in the transaction of the last page, under the lock: no profile falls between build and real time
                result = Run("build", s => targets.Contains(s.No), backfill, "segment defined or changed", SegmentLive.Built, d =>
                {
                    var current = _catalogue.EnsureLoaded(d);
                    foreach (var (no, updated) in versions)
                    {
                        // a definition edited during the build stays unbuilt: the next build takes it
                        if (!current.ByNo.TryGetValue(no, out var s) || s.UpdatedAt != updated) continue;
                        if (d.Definition(s.Key) is { } stored) d.PutDefinition(stored with { Built = true });
                    }
                    d.SaveKeptCounters(current.Counters.ToDictionary(c => c.Id, c => Math.Max(c.RetentionDays, kept.TryGetValue(c.Id, out var r) ? r : 0), StringComparer.Ordinal));
                    _catalogue.Reload(d);
                });
            }
            finally
            {
                foreach (var no in targets) _catalogue.BuildProgress.TryRemove(no, out _);
            }
            _logger.LogInformation("Segments built ({Segments}): {Profiles} profiles, {Changes} changes in {Seconds:0.0} s",
                string.Join(", ", targets.Select(n => set.ByNo[n].Key)), result.Profiles, result.Changes, result.Seconds);
            return result;
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>
    /// Full evaluations write segment state the processor keeps in memory (<see cref="StoredSegmentStates"/>), so they run on
    /// the host that runs the processor: the recurring sweep is queued for it (Scheduling's leader queue).
    /// </summary>
    private void RefuseUnlessLeading(string what)
    {
        if (!_lead.Leads)
            throw new ProcessorUnavailableException($"{what} run on the host that runs the profile processor, and this host does not (Cdp:Storage:Hosts = Several)");
    }

    private SweepResult Run(string kind, Func<CompiledSegment, bool> targets, HashSet<string> backfill, string cause, string field,
        Action<ISegmentWrites>? complete = null)
    {
        var started = Stopwatch.StartNew();
        var at = _clock.GetUtcNow().UtcDateTime;
        long after = 0, profiles = 0;
        var changes = 0;
        var segments = 0;
        while (!_stop.IsCancellationRequested)
        {
            if (!_lead.Leads)
            {
                // the lead moved during the run: the new leader's processor does not know this run's progress, so stop
                // (a build stays unbuilt, and the new leader builds it; the next sweep covers what this one did not)
                _logger.LogWarning("Segment {Kind} stopped after {Profiles} profiles: this host no longer runs the profile processor", kind, profiles);
                break;
            }
            var count = _db.InTransaction(tx =>
            {
                var d = _store.Lock(tx, _clock.GetUtcNow().UtcDateTime); // before any read, the definitions included
                var set = _catalogue.EnsureLoaded(d);
                var write = new MembershipWrite(d, set, _clock.GetUtcNow().UtcDateTime, _stored);
                _stored.OtherWriter();
                segments = set.Ordered.Count(targets);
                var page = _profiles.ListAfter(after, PageSize);
                if (page.Count == 0)
                {
                    write.Finish(field);
                    complete?.Invoke(d);
                    return 0;
                }
                var numbers = page.Select(p => ProfileIds.TryParse(p.Id, out var n) ? n : 0).ToList();
                var states = write.LoadRange(numbers[0], numbers[^1]);
                var backfillSpecs = set.Counters.Where(c => backfill.Contains(c.Id)).ToList();
                for (var i = 0; i < page.Count; i++)
                {
                    var state = states.TryGetValue(numbers[i], out var s) ? s : new ProfileSegmentState(numbers[i]);
                    if (backfillSpecs.Count > 0) Recount(write, state, page[i].Id, backfillSpecs);
                    write.Evaluate(state, page[i], targets, cause);
                    write.Save(state);
                }
                after = numbers[^1];
                foreach (var no in set.Ordered.Where(targets).Select(s => s.No))
                    if (_catalogue.BuildProgress.ContainsKey(no)) _catalogue.BuildProgress[no] = after;
                changes += write.Changes;
                write.Finish(field);
                if (page.Count < PageSize) complete?.Invoke(d);
                return page.Count;
            });
            profiles += count;
            if (count < PageSize) break;
        }
        return new SweepResult(kind, at, profiles, segments, changes, started.Elapsed.TotalSeconds);
    }

    /// <summary>Counters that were not kept (or not long enough), counted again from all of the profile's events.</summary>
    private void Recount(MembershipWrite write, ProfileSegmentState state, string profileId, IReadOnlyList<CounterSpec> specs)
    {
        foreach (var c in specs) state.Counters.Remove(c.Id);
        state.Dirty = true;
        write.Count(state, _profiles.Events(profileId), specs);
    }
}
