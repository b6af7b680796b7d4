using System.Collections.Concurrent;
using Cdp.Modules.Segments.Language;
using Cdp.Modules.Segments.Membership;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;
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
internal sealed class SegmentCatalogue(CdpDatabase db, IOptions<SegmentSettings> settings, TimeProvider clock, ILogger<SegmentCatalogue> logger)
{
    private readonly Lock _gate = new();
    private volatile SegmentSet? _set;

    /// <summary>Raised (outside any transaction) when a segment needs building: the build runner listens.</summary>
    public event Action? BuildNeeded;

    /// <summary>Segment number -> highest profile number the running build has evaluated it for.</summary>
    public ConcurrentDictionary<int, long> BuildProgress { get; } = new();

    public SegmentSet Current => _set ?? db.InTransaction(EnsureLoaded);

    /// <summary>The set, loading it inside the caller's transaction the first time.</summary>
    public SegmentSet EnsureLoaded(LiteDatabase d)
    {
        if (_set is { } set) return set;
        lock (_gate)
        {
            return _set ??= Load(d);
        }
    }

    /// <summary>Re-reads the definitions inside the caller's transaction (after a change).</summary>
    public SegmentSet Reload(LiteDatabase d)
    {
        lock (_gate)
        {
            return _set = Load(d);
        }
    }

    public void RequestBuild() => BuildNeeded?.Invoke();

    private SegmentSet Load(LiteDatabase d)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        SegmentSchema.Lock(d, now);
        var defs = d.GetCollection(SegmentSchema.Definitions);
        var stored = defs.FindAll().ToList();
        var config = settings.Value;
        foreach (var (key, setting) in config)
        {
            var existing = stored.FirstOrDefault(x => string.Equals(x["_id"].AsString, key, StringComparison.OrdinalIgnoreCase));
            var where = setting.Where ?? "";
            if (existing is null)
            {
                var doc = Document(key, NextNumber(d), SegmentOrigin.Config, setting.Name ?? key, setting.Description, where, now, now);
                defs.Insert(doc);
                stored.Add(doc);
                continue;
            }
            var changed = existing["where"].AsString != where || existing["origin"].AsString != nameof(SegmentOrigin.Config);
            if (!changed && existing["name"].AsString == (setting.Name ?? key) && existing["description"].AsString == setting.Description) continue;
            if (existing["origin"].AsString != nameof(SegmentOrigin.Config))
                logger.LogWarning("Segment {Key} is now defined in appsettings: the API definition is replaced", key);
            var updated = Document(key, existing["no"].AsInt32, SegmentOrigin.Config, setting.Name ?? key, setting.Description, where,
                existing["created"].AsDateTime.ToUniversalTime(), changed ? now : existing["updated"].AsDateTime.ToUniversalTime());
            if (!changed) updated["built"] = existing["built"];
            defs.Delete(existing["_id"]);
            defs.Insert(updated);
            stored[stored.IndexOf(existing)] = updated;
        }
        foreach (var gone in stored.Where(x => x["origin"].AsString == nameof(SegmentOrigin.Config) && !config.ContainsKey(x["_id"].AsString)).ToList())
        {
            logger.LogWarning("Segment {Key} is no longer in appsettings: removed (its history is kept)", gone["_id"].AsString);
            defs.Delete(gone["_id"]);
            d.GetCollection(SegmentSchema.Members(gone["no"].AsInt32)).DeleteAll();
            stored.Remove(gone);
        }
        return Compile(stored);
    }

    /// <summary>Segment numbers are never reused: a deleted segment's leftovers can never count for a new one.</summary>
    public static int NextNumber(LiteDatabase d)
    {
        var state = d.GetCollection(SegmentSchema.State);
        var doc = state.FindById("numbers") ?? new BsonDocument { ["_id"] = "numbers", ["next"] = 1 };
        var next = Math.Max(doc["next"].AsInt32, d.GetCollection(SegmentSchema.Definitions).FindAll().Select(x => x["no"].AsInt32).DefaultIfEmpty(0).Max() + 1);
        doc["next"] = next + 1;
        state.Upsert(doc);
        return next;
    }

    public static BsonDocument Document(string key, int no, SegmentOrigin origin, string name, string? description, string where, DateTime created, DateTime updated) => new()
    {
        ["_id"] = key, ["no"] = no, ["origin"] = origin.ToString(), ["name"] = name, ["description"] = description,
        ["where"] = where, ["created"] = created, ["updated"] = updated, ["built"] = false,
    };

    private SegmentSet Compile(List<BsonDocument> stored)
    {
        var parsed = new Dictionary<string, (BsonDocument Doc, Condition? Condition, string? Problem)>(StringComparer.OrdinalIgnoreCase);
        foreach (var d in stored)
        {
            // a stored definition that no longer parses (saved by an older version, before a limit) is marked broken
            // with its reason (the API shows it as health "error: ...") and skipped: it never stops the start
            try { parsed[d["_id"].AsString] = (d, SegmentParser.Parse(d["where"].AsString), null); }
            catch (SegmentSyntaxException ex) { parsed[d["_id"].AsString] = (d, null, ex.Message); }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                parsed[d["_id"].AsString] = (d, null, $"the definition could not be read ({ex.GetType().Name}: {ex.Message})");
            }
        }
        var segments = new List<CompiledSegment>();
        foreach (var (key, (d, condition, problem)) in parsed)
        {
            var p = problem ?? (condition is null ? null : SegmentRules.ReferenceProblem(key, condition, k => parsed.TryGetValue(k, out var o) ? o.Condition : null));
            if (p is not null) logger.LogError("Segment {Key} cannot be evaluated: {Problem}", key, p);
            segments.Add(new CompiledSegment(d["no"].AsInt32, key, d["name"].AsString, d["description"].IsNull ? null : d["description"].AsString,
                d["where"].AsString, Enum.Parse<SegmentOrigin>(d["origin"].AsString), condition ?? new AllOf("", []),
                d["created"].AsDateTime.ToUniversalTime(), d["updated"].AsDateTime.ToUniversalTime(), d["built"].AsBoolean, p));
        }
        return new SegmentSet(segments);
    }
}
