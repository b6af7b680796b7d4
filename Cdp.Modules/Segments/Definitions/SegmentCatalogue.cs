using System.Collections.Concurrent;
using Cdp.Modules.Segments.Language;
using Cdp.Modules.Segments.Membership;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Segments.Definitions;

/// <summary>
/// Every segment, from appsettings and from the API, compiled into an immutable <see cref="SegmentSet"/>.
/// Config definitions are reconciled with the stored ones on first use (new number, changed condition: rebuilt).
/// A new or changed segment is "building" until the build has evaluated every profile for it; meanwhile the processor
/// evaluates it only for profiles the build has passed (<see cref="BuildProgress"/>), so no change is missed.
/// </summary>
[Service]
internal sealed class SegmentCatalogue
{
    private readonly IUnitOfWorkFactory transactions;
    private readonly ISegmentStore store;
    private readonly IOptions<SegmentSettings> settings;
    private readonly TimeProvider clock;
    private readonly ILogger<SegmentCatalogue> logger;
    private readonly Lock _gate = new();
    private volatile SegmentSet? _set;
    private bool _reconciled; // under the gate

    public SegmentCatalogue(IUnitOfWorkFactory transactions, ISegmentStore store, IOptions<SegmentSettings> settings, TimeProvider clock,
        ILogger<SegmentCatalogue> logger, IChangeFeed changes)
    {
        this.transactions = transactions;
        this.store = store;
        this.settings = settings;
        this.clock = clock;
        this.logger = logger;
        // several hosts on one database: a segment saved, deleted or built through another host is loaded here at next use
        changes.On(ChangeTopics.Segments, Invalidate);
    }

    /// <summary>
    /// The stored definitions changed behind this host: the next use loads them again (inside its locked transaction), and
    /// a build is asked for, which runs where the processor runs.
    /// </summary>
    private void Invalidate()
    {
        // under the gate: a load in progress (which may have read before the change committed) finishes first, then is dropped
        lock (_gate) _set = null;
        RequestBuild();
    }

    /// <summary>Raised (outside any transaction) when a segment needs building: the build runner listens.</summary>
    public event Action? BuildNeeded;

    /// <summary>Segment number -> highest profile number the running build has evaluated it for.</summary>
    public ConcurrentDictionary<int, long> BuildProgress { get; } = new();

    public SegmentSet Current => _set ?? transactions.InTransaction(tx => EnsureLoaded(store.Lock(tx, clock.GetUtcNow().UtcDateTime)));

    /// <summary>The set, loading it inside the caller's locked transaction the first time.</summary>
    public SegmentSet EnsureLoaded(ISegmentWrites d)
    {
        if (_set is { } set) return set;
        lock (_gate)
        {
            return _set ??= Load(d);
        }
    }

    /// <summary>Re-reads the definitions inside the caller's locked transaction (after a change).</summary>
    public SegmentSet Reload(ISegmentWrites d)
    {
        lock (_gate)
        {
            return _set = Load(d);
        }
    }

    public void RequestBuild() => BuildNeeded?.Invoke();

    private SegmentSet Load(ISegmentWrites d)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var stored = d.Definitions();
        // appsettings are read at start, so they are reconciled with the stored definitions at the first load only: with
        // several hosts whose settings differ for a while (a rolling change), a host's reload must not write its own
        // settings back over the newer host's, which would make each host undo the other's on every reload
        if (_reconciled) return Compile(stored);
        _reconciled = true;
        var config = settings.Value;
        foreach (var (key, setting) in config)
        {
            var existing = stored.FirstOrDefault(x => string.Equals(x.Key, key, StringComparison.OrdinalIgnoreCase));
            var where = setting.Where ?? "";
            if (existing is null)
            {
                var created = new SegmentDefinition(key, d.NextNumber(), SegmentOrigin.Config, setting.Name ?? key, setting.Description, where, now, now, false);
                d.PutDefinition(created);
                stored.Add(created);
                continue;
            }
            var changed = existing.Where != where || existing.Origin != SegmentOrigin.Config;
            if (!changed && existing.Name == (setting.Name ?? key) && existing.Description == setting.Description) continue;
            if (existing.Origin != SegmentOrigin.Config)
                logger.LogWarning("Segment {Key} is now defined in appsettings: the API definition is replaced", key);
            var updated = new SegmentDefinition(key, existing.No, SegmentOrigin.Config, setting.Name ?? key, setting.Description, where,
                existing.Created, changed ? now : existing.Updated, !changed && existing.Built);
            d.DeleteDefinition(existing.Key);
            d.PutDefinition(updated);
            stored[stored.IndexOf(existing)] = updated;
        }
        foreach (var gone in stored.Where(x => x.Origin == SegmentOrigin.Config && !config.ContainsKey(x.Key)).ToList())
        {
            logger.LogWarning("Segment {Key} is no longer in appsettings: removed (its history is kept)", gone.Key);
            d.DeleteDefinition(gone.Key);
            d.ClearMembers(gone.No);
            stored.Remove(gone);
        }
        return Compile(stored);
    }

    private SegmentSet Compile(List<SegmentDefinition> stored)
    {
        var parsed = new Dictionary<string, (SegmentDefinition Doc, Condition? Condition, string? Problem)>(StringComparer.OrdinalIgnoreCase);
        foreach (var d in stored)
        {
            // a stored definition that no longer parses (saved by an older version, before a limit) is marked broken
            // with its reason (the API shows it as health "error: ...") and skipped: it never stops the start
            try { parsed[d.Key] = (d, SegmentParser.Parse(d.Where), null); }
            catch (SegmentSyntaxException ex) { parsed[d.Key] = (d, null, ex.Message); }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                parsed[d.Key] = (d, null, $"the definition could not be read ({ex.GetType().Name}: {ex.Message})");
            }
        }
        var segments = new List<CompiledSegment>();
        foreach (var (key, (d, condition, problem)) in parsed)
        {
            var p = problem ?? (condition is null ? null : SegmentRules.ReferenceProblem(key, condition, k => parsed.TryGetValue(k, out var o) ? o.Condition : null));
            if (p is not null) logger.LogError("Segment {Key} cannot be evaluated: {Problem}", key, p);
            segments.Add(new CompiledSegment(d.No, key, d.Name, d.Description, d.Where, d.Origin, condition ?? new AllOf("", []),
                d.Created, d.Updated, d.Built, p));
        }
        return new SegmentSet(segments);
    }
}
