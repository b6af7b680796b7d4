using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Activation.Destinations;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Segments.Contracts;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Activation.Engine;

/// <summary>
/// Runs syncs. A run diffs the segment's current members against the sync's member state (the checkpoint), sends
/// adds/updates/retries then removals in batches, and commits a batch's state only after the destination acknowledged it
/// (at least once: a crash in between resends the batch, which is harmless because every call is an upsert or set operation).
/// </summary>
[Service]
internal sealed class SyncEngine(
    IOptions<ActivationOptions> options,
    IServiceProvider services,
    IProfileReader profiles,
    MemberState state,
    RunHistory history,
    SyncMetrics metrics,
    DestinationSessions sessions,
    Redactor redactor,
    IEnumerable<IBatchCommitHook> hooks,
    VendorPrivacyCalls privacyCalls,
    TimeProvider clock,
    ILogger<SyncEngine> log) : ISyncOperations
{
    /// <summary>Sample rows a dry run shows per action.</summary>
    public const int SampleRows = 10;

    /// <summary>Errors kept per run (the rest are counted).</summary>
    public const int MaxErrors = 50;

    /// <summary>State-only commits (no destination call) are written in chunks of this size.</summary>
    private const int StateChunk = 5_000;

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);
    private readonly IBatchCommitHook[] _hooks = hooks.ToArray();

    private ActivationOptions Settings => options.Value;

    /// <summary>Resolved when a run needs it, so the host starts (and reports) even before a Segments implementation is registered.</summary>
    private ISegmentMembership Segments => services.GetService<ISegmentMembership>()
        ?? throw new InvalidOperationException("no segment membership is available (the Segments module registers ISegmentMembership)");

    public IReadOnlyList<SyncSummary> List() => Settings.Syncs.Keys.Order(StringComparer.Ordinal).Select(n => Find(n)!).ToList();

    public SyncSummary? Find(string sync)
    {
        if (!Settings.Syncs.TryGetValue(sync, out var s)) return null;
        var d = Settings.Destinations.GetValueOrDefault(s.Destination);
        var last = history.Latest(sync, 1).FirstOrDefault();
        // Resolved here, not injected: Scheduling's catalog needs the job kinds, and SyncJobKind needs this engine.
        var next = s.Enabled ? services.GetService<IRecurringJobSchedule>()?.Find(SyncCatalog.JobId(sync))?.NextExecution : null;
        var (members, rejected) = state.Count(sync);
        return new SyncSummary(sync, s.Segment, s.Destination, d?.Kind?.ToString() ?? "?", s.Mode.ToString(), s.Enabled, s.Enabled ? s.Cron : null,
            s.TimeZone, next, last?.StartedAt, last?.Status, last?.Id, members, rejected);
    }

    public IReadOnlyList<SyncRunReport> Runs(string sync, int limit) => history.Latest(sync, Math.Clamp(limit, 1, RunHistory.KeptPerSync));

    public SyncRunReport? Run(long runId) => history.Get(runId);

    public async Task<SyncRunReport> RunAsync(string sync, SyncRunRequest request, CancellationToken cancellationToken)
    {
        if (!Settings.Syncs.ContainsKey(sync)) throw new KeyNotFoundException($"no sync '{sync}' in {SyncSettings.Section}");
        var gate = _gates.GetOrAdd(sync, _ => new SemaphoreSlim(1, 1));
        if (!gate.Wait(0)) throw new SyncBusyException(sync);
        try
        {
            // several hosts on one database: the sync's run lock keeps runs on different hosts apart too
            using var held = history.TryHold(sync) ?? throw new SyncBusyException(sync);
            return await RunExclusiveAsync(sync, request, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<SyncRunReport> RunExclusiveAsync(string name, SyncRunRequest request, CancellationToken cancellationToken)
    {
        var s = Settings.Syncs[name];
        var d = Settings.Destinations[s.Destination];
        var full = request.FullResync || s.Mode == SyncMode.Full;
        var started = clock.GetUtcNow().UtcDateTime;
        var watch = Stopwatch.StartNew();
        var runId = history.Start(name, request.Trigger, full, started);
        var run = new RunTally();
        string? stopped = null;
        string? firstPayload = null;
        var samples = new List<SyncSampleRow>();
        var aborted = false;
        IDestinationSession? session = null;
        log.LogInformation("Sync {Sync} run {Run} started ({Trigger}{Full}{Dry})", name, runId, request.Trigger, full ? ", full" : "", request.DryRun ? ", dry run" : "");
        try
        {
            var target = new SyncTarget(name, s, s.Destination, d, runId, full);
            if (!Segments.Exists(s.Segment))
            {
                stopped = $"segment '{s.Segment}' does not exist ({SyncSettings.Section}:{name}:Segment): nothing was sent";
            }
            else
            {
                var projection = DestinationSessions.Projection(s, d);
                var recorded = state.Load(name);
                var plan = Plan(s, projection, recorded, full || DestinationSessions.WantsEveryMember(d), run, Unsubscribes(s, d));
                var atDestination = recorded.Values.Count(r => r.AtDestination);
                var leaving = plan.Removes.Count(r => r.Leaving && !r.Erasure); // privacy erasures are owed, whatever their share
                if (atDestination > 0 && leaving > s.MaxRemovalShare * atDestination && !request.AllowMassRemoval)
                    stopped = string.Create(CultureInfo.InvariantCulture,
                        $"mass-removal guard: this run would remove {leaving:N0} of {atDestination:N0} synced members ({(double)leaving / atDestination:P0}), more than {SyncSettings.Section}:{name}:MaxRemovalShare ({s.MaxRemovalShare:P0}). Nothing was sent. Check the segment '{s.Segment}', then run again allowing mass removal (API ?allowMassRemoval=true, CLI --allow-mass-removal) or raise MaxRemovalShare.");

                if (request.DryRun)
                {
                    DryRun(plan, projection, target, run, samples, out firstPayload);
                }
                else if (stopped is null)
                {
                    state.Commit(name, plan.StateOnly);
                    session = sessions.Open(target);
                    await session.PrepareAsync(cancellationToken);
                    await SendAsync(target, session, plan, projection, recorded, run, cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ex is DestinationUnavailableException or BatchRefusedException)
        {
            aborted = true;
            run.Error(redactor.Redact(ex.Message + NextAttempt(name, s, ex as DestinationUnavailableException)));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            aborted = true;
            run.Error("cancelled: the host is stopping (acknowledged batches are kept; the next run resumes)");
        }
        catch (Exception ex)
        {
            aborted = true;
            log.LogError(ex, "Sync {Sync} run {Run} failed unexpectedly", name, runId);
            run.Error(redactor.Redact($"unexpected {ex.GetType().Name}: {ex.Message}"));
        }
        finally
        {
            if (session is not null)
            {
                foreach (var note in session.TakeNotes()) run.Error(redactor.Redact(note));
                try { await session.DisposeAsync(); }
                catch (Exception ex) { run.Error(redactor.Redact($"closing the destination: {ex.Message}")); }
            }
        }

        var status = request.DryRun && !aborted ? SyncRunStatus.DryRun
            : stopped is not null ? SyncRunStatus.Failed
            : aborted ? (run.Acknowledged > 0 ? SyncRunStatus.Partial : SyncRunStatus.Failed)
            : run.Rejected > 0 ? SyncRunStatus.Partial
            : SyncRunStatus.Succeeded;
        var report = new SyncRunReport(runId, name, request.Trigger, status, full, started, clock.GetUtcNow().UtcDateTime, watch.Elapsed.TotalSeconds,
            run.Counts(), stopped, run.Errors, samples, firstPayload);
        history.Finish(report);
        metrics.Record(report);
        log.Log(status is SyncRunStatus.Failed or SyncRunStatus.Partial ? LogLevel.Warning : LogLevel.Information,
            "Sync {Sync} run {Run}: {Status} in {Seconds:N1} s, +{Added} ~{Updated} -{Removed} retried {Retried} rejected {Rejected}{Stopped}",
            name, runId, status, report.DurationSeconds, run.Added, run.Updated, run.Removed, run.Retried, run.Rejected, stopped is null ? "" : ": " + stopped);
        return report;
    }

    /// <summary>When a vendor asked to wait beyond MaxRetryDelay: when the next attempt is (the next scheduled run, or by hand).</summary>
    private string NextAttempt(string name, SyncSettings s, DestinationUnavailableException? ex)
    {
        if (ex?.RetryNotBefore is not { } notBefore) return "";
        var next = s.Enabled ? services.GetService<IRecurringJobSchedule>()?.Find(SyncCatalog.JobId(name))?.NextExecution : null;
        var vendorTime = notBefore.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        if (next is not { } at) return $"; next attempt: the next run started by hand (after {vendorTime}, the time the vendor named)";
        var when = at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return at.ToUniversalTime() >= notBefore.UtcDateTime
            ? $"; next attempt: the next scheduled run at {when}"
            : $"; next attempt: the next scheduled run at {when}, before {vendorTime} (the vendor may ask it to wait again)";
    }

    /// <summary>
    /// Most extra calls spent isolating the bad rows of one batch the vendor refused whole (one bad row among 30,000 costs about
    /// 2 x log2(30,000) = 30): a batch refused for a reason of its own (a wrong list id) is not split into thousands of calls.
    /// </summary>
    public const int IsolationBudget = 64;

    /// <summary>
    /// Upserts the batch; when the vendor refuses it whole (one reason for every row) and the destination supports it, sends each
    /// half again, recursively, so that the good rows land in this run and only the bad ones are rejected.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, string>> UpsertIsolatingAsync(IDestinationSession session, IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        var refused = await session.UpsertAsync(members, cancellationToken);
        if (refused is not WholeBatchRefusal || members.Count < 2 || !session.IsolatesRefusedRows) return refused;
        var budget = IsolationBudget;
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        await SplitAsync(members, refused, cancellationToken);
        return result;

        async Task SplitAsync(IReadOnlyList<OutgoingMember> part, IReadOnlyDictionary<string, string> whole, CancellationToken ct)
        {
            if (part.Count < 2 || budget < 2)
            {
                foreach (var m in part) result[m.Key] = whole.GetValueOrDefault(m.Key) ?? whole.Values.First();
                return;
            }
            var half = part.Count / 2;
            foreach (var piece in new[] { part.Take(half).ToList(), part.Skip(half).ToList() })
            {
                budget--;
                var answer = await session.UpsertAsync(piece, ct);
                if (answer is WholeBatchRefusal && piece.Count > 1) await SplitAsync(piece, answer, ct);
                else foreach (var (key, reason) in answer) result[key] = reason;
            }
        }
    }

    private enum ChangeKind { Add, Update, Retry, Keep, Remove }

    /// <param name="Leaving">A removal because the profile left (counted by the guard), not because its identifier changed.</param>
    /// <param name="Erasure">The person was deleted (privacy): removed whatever the mass-removal guard says; never shown by its key.</param>
    /// <param name="OptOut">The member opted out (revoked consent, suppressed trait or identifier): unsubscribed at the vendor too.</param>
    private sealed record PlannedChange(ChangeKind Kind, string ProfileId, string Key, bool Leaving = false, bool Erasure = false, bool OptOut = false)
    {
        /// <summary>What run history (samples, errors) may show: an erased person's address is not kept there.</summary>
        public string Shown => Erasure ? ErasedPerson : Key;
    }

    /// <summary>Shown instead of an erased person's identifier in run history.</summary>
    public const string ErasedPerson = "(erased person)";

    /// <summary>Members whose profiles a plan reads at once (<see cref="IProfileReader.GetMany"/>).</summary>
    private const int ProfilePage = 500;

    private sealed record SyncPlan(List<PlannedChange> Upserts, List<PlannedChange> Removes, List<MemberCommit> StateOnly);

    /// <summary>One pass over the segment: compact changes only (profile id, key); the fields are read again when a batch is sent.</summary>
    private SyncPlan Plan(SyncSettings s, MemberProjection projection, Dictionary<string, MemberRecord> recorded, bool everyMember, RunTally run, bool unsubscribe)
    {
        var optOuts = new OptOuts(services, projection);
        var upserts = new List<PlannedChange>();
        var removes = new List<PlannedChange>();
        var stateOnly = new List<MemberCommit>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        // the members' profiles are read a page at a time: one read for many where each read is a round trip (PostgreSQL)
        foreach (var page in Segments.Members(s.Segment).Chunk(ProfilePage))
        {
            var views = profiles.GetMany(page);
            foreach (var profileId in page)
            {
                run.Members++;
                if (!views.TryGetValue(profileId, out var view)) continue;
                switch (projection.Check(view, out var key))
                {
                    case Eligibility.NoConsent: run.NoConsent++; continue;
                    case Eligibility.NoIdentifier: run.NoIdentifier++; continue;
                }
                if (optOuts.Suppressed(key)) { run.NoConsent++; continue; } // a suppressed identifier is never sent, and an opt-out

                if (!seen.Add(profileId)) continue;
                if (!keys.Add(key)) { run.Duplicate++; seen.Remove(profileId); continue; } // two profiles, one email: the first wins
                run.Eligible++;
                if (!recorded.TryGetValue(profileId, out var record)) { upserts.Add(new(ChangeKind.Add, profileId, key)); continue; }
                if (record.Rejected) { upserts.Add(new(ChangeKind.Retry, profileId, key)); continue; }
                if (record.Key != key)
                {
                    upserts.Add(new(ChangeKind.Add, profileId, key));
                    if (record.AtDestination) removes.Add(new(ChangeKind.Remove, profileId, record.Key));
                    continue;
                }
                var hash = MemberProjection.Hash(key, projection.Project(view, key).Fields);
                if (hash != record.Hash) upserts.Add(new(ChangeKind.Update, profileId, key));
                else if (everyMember) upserts.Add(new(ChangeKind.Keep, profileId, key));
                else run.Unchanged++;
            }
        }
        foreach (var (profileId, record) in recorded)
        {
            if (seen.Contains(profileId)) continue;
            // Never sent, or its address now belongs to a member who stays: forget it without a destination call.
            if (!record.AtDestination || keys.Contains(record.Key)) stateOnly.Add(new MemberCommit(profileId, null));
            else removes.Add(new(ChangeKind.Remove, profileId, record.Key, Leaving: true, Erasure: record.Erased,
                OptOut: unsubscribe && !record.Erased && optOuts.OptedOut(profiles.Get(profileId), record.Key)));
        }
        // A changed identifier's old address is removed only when no current member now has it.
        removes.RemoveAll(r => !r.Leaving && keys.Contains(r.Key));
        return new SyncPlan(upserts, removes, stateOnly);
    }

    private async Task SendAsync(SyncTarget target, IDestinationSession session, SyncPlan plan, MemberProjection projection,
        Dictionary<string, MemberRecord> recorded, RunTally run, CancellationToken cancellationToken)
    {
        var name = target.Sync;
        var d = target.Destination;
        var deferred = session.AcknowledgesAtCompletion ? new List<MemberCommit>() : null;
        var deferredTally = new RunTally();
        var batchNo = 0;
        foreach (var chunk in plan.Upserts.Chunk(session.UpsertBatchSize))
        {
            var kinds = new Dictionary<string, ChangeKind>(chunk.Length, StringComparer.Ordinal);
            var members = new List<OutgoingMember>(chunk.Length);
            var views = profiles.GetMany(chunk.Select(c => c.ProfileId).ToList());
            foreach (var change in chunk)
            {
                // Changed since the plan (consent withdrawn, address changed): the next run sees it as it is then.
                if (!views.TryGetValue(change.ProfileId, out var view) || projection.Check(view, out var key) != Eligibility.Eligible || key != change.Key) continue;
                members.Add(projection.Project(view, key));
                kinds[change.ProfileId] = change.Kind;
            }
            if (members.Count == 0) continue;
            // The vendor's published field rules first: a row that breaks one (and cannot be fixed by the rule) is rejected alone.
            var sendable = new List<OutgoingMember>(members.Count);
            var refused = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < members.Count; i++)
            {
                var (row, why) = VendorFieldRules.Apply(d, members[i]);
                if (row is null) refused[members[i].Key] = why!;
                else sendable.Add(members[i] = row);
            }
            if (sendable.Count > 0)
                foreach (var (key, reason) in await UpsertIsolatingAsync(session, sendable, cancellationToken)) refused[key] = reason;
            batchNo++;
            var tally = deferred is null ? run : deferredTally;
            tally.Batches++;
            var commits = new List<MemberCommit>(members.Count);
            foreach (var m in members)
            {
                if (refused.TryGetValue(m.Key, out var reason))
                {
                    var wasThere = recorded.TryGetValue(m.ProfileId, out var r) && r.AtDestination && r.Key == m.Key;
                    commits.Add(new MemberCommit(m.ProfileId, new MemberRecord(m.Key, m.Hash, wasThere, true, reason)));
                    tally.Rejected++;
                    tally.Error($"{m.Key}: {reason}");
                    continue;
                }
                commits.Add(new MemberCommit(m.ProfileId, new MemberRecord(m.Key, m.Hash, true, false, null)));
                switch (kinds[m.ProfileId])
                {
                    case ChangeKind.Add: tally.Added++; break;
                    case ChangeKind.Update: tally.Updated++; break;
                    case ChangeKind.Retry: tally.Retried++; break;
                    default: tally.Unchanged++; break;
                }
            }
            Commit(name, batchNo, commits, deferred);
        }
        foreach (var chunk in plan.Removes.Chunk(session.RemoveBatchSize))
        {
            var members = chunk.Select(c => OutgoingMember.Removal(c.ProfileId, c.Key)).ToList();
            var refused = await session.RemoveAsync(members, cancellationToken);
            refused = await UnsubscribeAsync(target, chunk, refused, cancellationToken);
            batchNo++;
            var tally = deferred is null ? run : deferredTally;
            tally.Batches++;
            var commits = new List<MemberCommit>(chunk.Length);
            foreach (var c in chunk)
            {
                if (refused.TryGetValue(c.Key, out var reason))
                {
                    tally.Rejected++;
                    tally.Error($"{c.Shown} (removal): {reason}");
                    continue; // the state keeps it: the removal is tried again next run
                }
                if (c.Leaving)
                {
                    commits.Add(new MemberCommit(c.ProfileId, null));
                    if (c.OptOut) tally.Unsubscribed++;
                    else tally.Removed++;
                }
            }
            Commit(name, batchNo, commits, deferred);
        }
        await session.CompleteAsync(cancellationToken);
        if (deferred is null) return;
        _hooks.ToList().ForEach(h => h.BeforeCommit(name, batchNo));
        foreach (var chunk in deferred.Chunk(StateChunk)) state.Commit(name, chunk);
        run.Add(deferredTally);
    }

    /// <summary>Opt-outs are unsubscribed at email destinations when the sync says so (UnsubscribeOnOptOut, default true).</summary>
    private static bool Unsubscribes(SyncSettings s, DestinationSettings d) => s.UnsubscribeOnOptOut && VendorPrivacyCalls.Unsubscribes(d);

    /// <summary>After a removal batch: its opted-out members (not refused by the removal) are unsubscribed at the vendor; refusals join.</summary>
    private async Task<IReadOnlyDictionary<string, string>> UnsubscribeAsync(SyncTarget target, PlannedChange[] chunk, IReadOnlyDictionary<string, string> refused,
        CancellationToken cancellationToken)
    {
        var keys = chunk.Where(c => c.OptOut && !refused.ContainsKey(c.Key)).Select(c => c.Key).Distinct(StringComparer.Ordinal).ToList();
        if (keys.Count == 0) return refused;
        var more = await privacyCalls.UnsubscribeAsync(target.DestinationName, target.Destination, keys, cancellationToken);
        if (more.Count == 0) return refused;
        var all = new Dictionary<string, string>(refused, StringComparer.Ordinal);
        foreach (var (k, v) in more) all[k] = v;
        return all;
    }

    private void Commit(string name, int batchNo, List<MemberCommit> commits, List<MemberCommit>? deferred)
    {
        if (deferred is not null)
        {
            deferred.AddRange(commits);
            return;
        }
        foreach (var hook in _hooks) hook.BeforeCommit(name, batchNo);
        state.Commit(name, commits);
    }

    private void DryRun(SyncPlan plan, MemberProjection projection, SyncTarget target, RunTally run, List<SyncSampleRow> samples, out string? firstPayload)
    {
        foreach (var c in plan.Upserts)
        {
            switch (c.Kind)
            {
                case ChangeKind.Add: run.Added++; break;
                case ChangeKind.Update: run.Updated++; break;
                case ChangeKind.Retry: run.Retried++; break;
                default: run.Unchanged++; break;
            }
        }
        run.Removed = plan.Removes.Count(r => r.Leaving && !r.OptOut);
        run.Unsubscribed = plan.Removes.Count(r => r.OptOut);
        var size = DestinationSessions.UpsertBatchSize(target.Destination);
        run.Batches = (plan.Upserts.Count + size - 1) / size + (plan.Removes.Count + DestinationSessions.RemoveBatchSize(target.Destination) - 1) / DestinationSessions.RemoveBatchSize(target.Destination);
        var first = new List<OutgoingMember>();
        var firstViews = profiles.GetMany(plan.Upserts.Take(size).Select(c => c.ProfileId).ToList());
        foreach (var c in plan.Upserts.Take(size))
        {
            if (!firstViews.TryGetValue(c.ProfileId, out var view) || projection.Check(view, out var key) != Eligibility.Eligible) continue;
            var m = projection.Project(view, key);
            first.Add(m);
            if (samples.Count(x => x.Action != "remove") < SampleRows)
                samples.Add(new SyncSampleRow(c.Kind.ToString().ToLowerInvariant(), m.ProfileId, m.Key, m.Fields.ToDictionary(f => f.Key, f => OutgoingMember.Text(f.Value))));
        }
        foreach (var c in plan.Removes.Take(SampleRows))
            samples.Add(new SyncSampleRow(c.OptOut ? "unsubscribe" : "remove", c.ProfileId, c.Shown, new Dictionary<string, string?>()));
        firstPayload = first.Count > 0 ? DestinationSessions.Preview(target, first) : null;
    }

    private sealed class RunTally
    {
        public long Members, Eligible, Added, Updated, Removed, Retried, Unchanged, Rejected, NoConsent, NoIdentifier, Duplicate, Batches, Unsubscribed;
        private long _errorsDropped;

        public List<string> Errors { get; } = [];

        public long Acknowledged => Batches;

        public void Error(string message)
        {
            if (Errors.Count < MaxErrors) Errors.Add(message);
            else if (++_errorsDropped == 1) Errors.Add($"(further errors are counted, not listed: at most {MaxErrors})");
        }

        public void Add(RunTally other)
        {
            Added += other.Added; Updated += other.Updated; Removed += other.Removed; Retried += other.Retried;
            Unchanged += other.Unchanged; Rejected += other.Rejected; Batches += other.Batches; Unsubscribed += other.Unsubscribed;
            foreach (var e in other.Errors) Error(e);
        }

        public SyncCounts Counts() => new(Members, Eligible, Added, Updated, Removed, Retried, Unchanged, Rejected, NoConsent, NoIdentifier, Duplicate, Batches, Unsubscribed);
    }
}
