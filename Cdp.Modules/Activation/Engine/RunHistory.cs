using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Activation.Engine;

/// <summary>Run history: one record per run, written when it starts and when it ends.</summary>
[Service]
internal sealed class RunHistory
{
    /// <summary>Runs kept per sync: the oldest beyond this are deleted when a run ends.</summary>
    public const int KeptPerSync = 200;

    private readonly IActivationStore _store;

    /// <summary>What a run left "running" by a killed process says after the restart.</summary>
    public const string Interrupted = "interrupted: the process stopped during this run (crash or kill); the next run sends what the destination had not acknowledged";

    /// <summary>
    /// A run still "running" when this process opens the history, and that no other host is running (several hosts on
    /// PostgreSQL: none holds its sync's run lock), was cut short by a crash or a kill: it is recorded as failed, with the
    /// reason. A host's death is also recorded by the next run of the sync, on any host.
    /// </summary>
    public RunHistory(IActivationStore store)
    {
        _store = store;
        store.MarkInterruptedRuns(Interrupted);
    }

    /// <summary>
    /// Takes the sync's run lock (null when another process runs it); the sync's runs still "running" are then dead (their
    /// process crashed or was killed, on this host or another) and are recorded as interrupted.
    /// </summary>
    public IDisposable? TryHold(string sync)
    {
        var held = _store.TryHoldRun(sync);
        if (held is null) return null;
        try
        {
            _store.MarkInterruptedRuns(sync, Interrupted);
            return held;
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    public long Start(string sync, string trigger, bool full, DateTime at) => _store.StartRun(sync, trigger, full, at);

    public void Finish(SyncRunReport report) => _store.FinishRun(report, KeptPerSync);

    /// <summary>
    /// Privacy erasure, inside the caller's transaction: every trace of the person leaves run history. Sample rows of their
    /// profiles or addresses go whole (names and all); in a stored first payload (a dry run's JSON for a vendor or webhook, or its
    /// CSV preview) every member entry holding one of their addresses or profile ids goes whole, and any address left elsewhere
    /// (error messages, payload text) is blanked. Returns the runs changed.
    /// </summary>
    public static long Scrub(IActivationStore store, IUnitOfWork tx, IReadOnlySet<string> profileIds, IReadOnlyList<string> values)
    {
        var person = new HashSet<string>(values.Where(v => v.Length > 0), StringComparer.OrdinalIgnoreCase);
        person.UnionWith(profileIds);
        long changed = 0;
        foreach (var run in store.AllRuns(tx))
        {
            var samples = run.Samples.Where(s => !(profileIds.Contains(s.ProfileId) || (s.Identifier is not null && person.Contains(s.Identifier)))).ToList();
            var errors = run.Errors.Select(e => Blank(e, values) ?? e).ToList();
            var payload = run.FirstPayload;
            if (payload is not null && PayloadScrub.Without(payload, person) is { } withoutMembers) payload = withoutMembers;
            if (payload is not null && Blank(payload, values) is { } blanked) payload = blanked;
            if (samples.Count == run.Samples.Count && errors.SequenceEqual(run.Errors, StringComparer.Ordinal) && ReferenceEquals(payload, run.FirstPayload)) continue;
            store.ReplaceRun(tx, run with { Samples = samples, Errors = errors, FirstPayload = payload });
            changed++;
        }
        return changed;
    }

    private static string? Blank(string text, IReadOnlyList<string> values)
    {
        var result = text;
        foreach (var v in values)
            if (v.Length >= 3 && result.Contains(v, StringComparison.OrdinalIgnoreCase)) result = result.Replace(v, SyncEngine.ErasedPerson, StringComparison.OrdinalIgnoreCase);
        return ReferenceEquals(result, text) ? null : result;
    }

    public SyncRunReport? Get(long id) => _store.Run(id);

    public IReadOnlyList<SyncRunReport> Latest(string sync, int limit) => _store.LatestRuns(sync, limit);
}
