using Cdp.Modules.Segments.Language;
using Cdp.Modules.Segments.Membership;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Segments.Definitions;

internal enum EditOutcome { Saved, NotFound, ReadOnly, Conflict, Invalid }

internal sealed record EditResult(EditOutcome Outcome, string? Field = null, string? Message = null, CompiledSegment? Segment = null);

/// <summary>API definitions: create, change and delete (in the segment store); config definitions are read-only here.</summary>
[Service]
internal sealed class SegmentEditor(IUnitOfWorkFactory db, ISegmentStore store, SegmentCatalogue catalogue, TimeProvider clock)
{
    /// <summary>Checks a draft: syntax, then references (unknown segments, cycles through <paramref name="key"/>). Null when valid.</summary>
    public (Condition? Condition, string? Problem) Check(string? key, string where)
    {
        if (where.Length > SegmentRules.MaxWhereLength) return (null, $"at most {SegmentRules.MaxWhereLength} characters");
        Condition condition;
        try { condition = SegmentParser.Parse(where); }
        catch (SegmentSyntaxException ex) { return (null, ex.Message); }
        catch (Exception ex) when (ex is not OutOfMemoryException) { return (null, $"cannot be read ({ex.GetType().Name}: {ex.Message})"); }
        var set = catalogue.Current;
        var problem = SegmentRules.ReferenceProblem(key ?? "\0draft", condition,
            k => set.ByKey.TryGetValue(k, out var s) && s.Problem is null ? s.Condition : null);
        return problem is null ? (condition, null) : (null, problem);
    }

    public EditResult Create(string key, string? name, string? description, string where) => Save(key, name, description, where, create: true);

    public EditResult Update(string key, string? name, string? description, string where) => Save(key, name, description, where, create: false);

    private EditResult Save(string key, string? name, string? description, string where, bool create)
    {
        if (SegmentRules.KeyProblem(key) is { } keyProblem) return new(EditOutcome.Invalid, "key", keyProblem);
        if (name is { Length: > SegmentRules.MaxNameLength }) return new(EditOutcome.Invalid, "name", $"at most {SegmentRules.MaxNameLength} characters");
        if (Check(key, where).Problem is { } problem) return new(EditOutcome.Invalid, "where", problem);
        var result = db.InTransaction(tx =>
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var d = store.Lock(tx, now);
            var existing = d.Definition(key);
            if (existing is not null && existing.Origin == SegmentOrigin.Config)
                return new EditResult(EditOutcome.ReadOnly, "key", $"segment {key} is defined in appsettings (Cdp:Segments:{key}) and is read-only over the API");
            if (create && existing is not null) return new EditResult(EditOutcome.Conflict, "key", $"segment {existing.Key} already exists");
            if (!create && existing is null) return new EditResult(EditOutcome.NotFound);
            var no = existing?.No ?? d.NextNumber();
            var canonicalKey = existing?.Key ?? key;
            d.PutDefinition(new SegmentDefinition(canonicalKey, no, SegmentOrigin.Api, string.IsNullOrWhiteSpace(name) ? canonicalKey : name,
                description, where, existing?.Created ?? now, now, existing is not null && existing.Where == where && existing.Built));
            var set = catalogue.Reload(d);
            return new EditResult(EditOutcome.Saved, Segment: set.ByKey[canonicalKey]);
        });
        if (result.Outcome == EditOutcome.Saved) catalogue.RequestBuild();
        return result;
    }

    public EditResult Delete(string key) => db.InTransaction(tx =>
    {
        var d = store.Lock(tx, clock.GetUtcNow().UtcDateTime);
        var set = catalogue.EnsureLoaded(d);
        if (!set.ByKey.TryGetValue(key, out var segment)) return new EditResult(EditOutcome.NotFound);
        if (segment.Origin == SegmentOrigin.Config)
            return new EditResult(EditOutcome.ReadOnly, "key", $"segment {segment.Key} is defined in appsettings (Cdp:Segments:{segment.Key}) and is read-only over the API");
        var users = set.Ordered.Where(s => s.References.Contains(segment.Key, StringComparer.OrdinalIgnoreCase)).Select(s => s.Key).ToList();
        if (users.Count > 0) return new EditResult(EditOutcome.Conflict, "key", $"segment {segment.Key} is used by {string.Join(", ", users)}");
        d.DeleteDefinition(segment.Key);
        d.ClearMembers(segment.No);
        var live = d.Live();
        if (live.Counts.Remove(segment.No)) d.SaveLive(live);
        catalogue.Reload(d);
        return new EditResult(EditOutcome.Saved, Segment: segment);
    });
}
