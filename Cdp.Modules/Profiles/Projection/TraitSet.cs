using System.Text;
using System.Text.Json;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// Traits with a timestamp per leaf: the newest event timestamp wins per trait, nested objects are merged
/// leaf by leaf (an equal timestamp: the later event wins; in a merge, the winner keeps its value).
/// Any JSON value is taken, within the document's <see cref="TraitBudget"/>: a value over a limit (keys, depth, bytes,
/// string or key length, a number no double holds) is dropped and recorded, never an exception.
/// </summary>
internal static class TraitSet
{
    public static void Apply(TreeDocument traits, TreeDocument times, JsonElement incoming, long ticks, TraitBudget budget, SkipSink skips) =>
        Apply(traits, times, incoming, ticks, budget, skips, "traits", 1);

    private static void Apply(TreeDocument traits, TreeDocument times, JsonElement incoming, long ticks, TraitBudget budget, SkipSink skips, string path, int depth)
    {
        foreach (var p in incoming.EnumerateObject())
        {
            var name = p.Name;
            if (name.Length == 0) continue;
            if (budget.BadKey(name) is { } badKey) { skips.Add(SkippedValues.Traits, $"{path}: {badKey}"); continue; }
            ApplyProperty(traits, times, p, ticks, budget, skips, path, depth);
        }
    }

    /// <summary>Today's rule (MostRecent) for one incoming property whose key is valid.</summary>
    private static void ApplyProperty(TreeDocument traits, TreeDocument times, JsonProperty p, long ticks, TraitBudget budget, SkipSink skips, string path, int depth)
    {
        var name = p.Name;
        if (p.Value.ValueKind == JsonValueKind.Object)
        {
            if (!(traits.TryGetValue(name, out var existing) && existing.IsDocument && times.TryGetValue(name, out var et) && et.IsDocument))
            {
                if (times.TryGetValue(name, out var t) && Newest(t) > ticks) return;
                if (depth >= budget.Limits.MaxTraitDepth)
                {
                    skips.Add(SkippedValues.Traits, $"{path}.{name}: objects nested deeper than {budget.Limits.MaxTraitDepth} levels (MaxTraitDepth)");
                    return;
                }
                if (budget.Refuses(traits, times, name, TraitBudget.ObjectCost(name)) is { } full) { skips.Add(SkippedValues.Traits, $"{path}.{name}: {full}"); return; }
                traits[name] = new TreeDocument();
                times[name] = new TreeDocument();
            }
            Apply(traits[name].AsDocument, times[name].AsDocument, p.Value, ticks, budget, skips, path + "." + name, depth + 1);
            return;
        }
        if (times.TryGetValue(name, out var time) && Newest(time) > ticks) return;
        if (!TryToTree(p.Value, budget.Limits, budget.Limits.MaxTraitDepth - depth, out var value, out var why))
        {
            skips.Add(SkippedValues.Traits, $"{path}.{name}: {why}");
            return;
        }
        if (budget.Refuses(traits, times, name, TraitBudget.LeafCost(name, value)) is { } over) { skips.Add(SkippedValues.Traits, $"{path}.{name}: {over}"); return; }
        traits[name] = value;
        times[name] = ticks;
    }

    /// <summary>Brings a merged-away profile's traits in: its leaves win only when strictly newer, within the winner's budget.</summary>
    public static void Merge(TreeDocument traits, TreeDocument times, TreeDocument loserTraits, TreeDocument loserTimes, TraitBudget budget, SkipSink skips) =>
        Merge(traits, times, loserTraits, loserTimes, budget, skips, "traits", 1);

    private static void Merge(TreeDocument traits, TreeDocument times, TreeDocument loserTraits, TreeDocument loserTimes, TraitBudget budget, SkipSink skips, string path, int depth)
    {
        foreach (var (name, value) in loserTraits)
        {
            if (!loserTimes.TryGetValue(name, out var lt)) continue;
            MergeEntry(traits, times, name, value, lt, budget, skips, path, depth);
        }
    }

    /// <summary>Today's rule (MostRecent) for one trait of the merged-away profile.</summary>
    private static void MergeEntry(TreeDocument traits, TreeDocument times, string name, TreeValue value, TreeValue lt, TraitBudget budget, SkipSink skips, string path, int depth)
    {
        if (value.IsDocument && lt.IsDocument)
        {
            if (!(traits.TryGetValue(name, out var existing) && existing.IsDocument && times.TryGetValue(name, out var et) && et.IsDocument))
            {
                if (times.TryGetValue(name, out var t) && Newest(t) >= Newest(lt)) return;
                if (depth >= budget.Limits.MaxTraitDepth)
                {
                    skips.Add(SkippedValues.Traits, $"{path}.{name} (merge): objects nested deeper than {budget.Limits.MaxTraitDepth} levels (MaxTraitDepth)");
                    return;
                }
                if (budget.Refuses(traits, times, name, TraitBudget.ObjectCost(name)) is { } full) { skips.Add(SkippedValues.Traits, $"{path}.{name} (merge): {full}"); return; }
                traits[name] = new TreeDocument();
                times[name] = new TreeDocument();
            }
            Merge(traits[name].AsDocument, times[name].AsDocument, value.AsDocument, lt.AsDocument, budget, skips, path + "." + name, depth + 1);
            return;
        }
        if (times.TryGetValue(name, out var time) && Newest(time) >= Newest(lt)) return;
        if (budget.Refuses(traits, times, name, TraitBudget.LeafCost(name, value)) is { } over) { skips.Add(SkippedValues.Traits, $"{path}.{name} (merge): {over}"); return; }
        traits[name] = value;
        times[name] = lt;
    }

    /// <summary>The survivorship state an event or a merge works on: the rules, the profile's candidates ("sv") and the event's origin.</summary>
    internal readonly record struct Rules(SurvivorshipPolicy Policy, TreeDocument Candidates, TraitOrigin Origin);

    /// <summary>
    /// With survivorship rules: a ruled leaf combines the event's value with its candidates (<see cref="TraitCandidates"/>)
    /// and the winner becomes the trait (its timestamp the leaf's time); everything else takes today's path. A value of the
    /// other shape (an object where a ruled leaf is, or a leaf where an object is) is settled by the newest timestamp, as today,
    /// and the candidates of what it replaces are dropped.
    /// </summary>
    public static void Apply(TreeDocument traits, TreeDocument times, JsonElement incoming, long ticks, TraitBudget budget, SkipSink skips, Rules? rules)
    {
        if (rules is not { Policy.Root: { } root } r) { Apply(traits, times, incoming, ticks, budget, skips, "traits", 1); return; }
        ApplyRuled(traits, times, r.Candidates, root, incoming, ticks, budget, skips, r, "traits", 1);
    }

    private static void ApplyRuled(TreeDocument traits, TreeDocument times, TreeDocument sv, SurvivorshipNode node, JsonElement incoming, long ticks, TraitBudget budget,
        SkipSink skips, Rules rules, string path, int depth)
    {
        foreach (var p in incoming.EnumerateObject())
        {
            var name = p.Name;
            if (name.Length == 0) continue;
            if (budget.BadKey(name) is { } badKey) { skips.Add(SkippedValues.Traits, $"{path}: {badKey}"); continue; }
            var child = node.Child(name);
            if (!child.Ruled) { ApplyProperty(traits, times, p, ticks, budget, skips, path, depth); continue; }
            if (p.Value.ValueKind == JsonValueKind.Object)
            {
                if (!(traits.TryGetValue(name, out var existing) && existing.IsDocument && times.TryGetValue(name, out var et) && et.IsDocument))
                {
                    if (times.TryGetValue(name, out var t) && Newest(t) > ticks) continue;
                    if (depth >= budget.Limits.MaxTraitDepth)
                    {
                        skips.Add(SkippedValues.Traits, $"{path}.{name}: objects nested deeper than {budget.Limits.MaxTraitDepth} levels (MaxTraitDepth)");
                        continue;
                    }
                    if (budget.Refuses(traits, times, name, TraitBudget.ObjectCost(name)) is { } full) { skips.Add(SkippedValues.Traits, $"{path}.{name}: {full}"); continue; }
                    traits[name] = new TreeDocument();
                    times[name] = new TreeDocument();
                    budget.SetCandidates(sv, name, new TreeDocument());
                }
                else if (!(sv.TryGetValue(name, out var s) && s.IsDocument)) budget.SetCandidates(sv, name, new TreeDocument());
                ApplyRuled(traits[name].AsDocument, times[name].AsDocument, sv[name].AsDocument, child, p.Value, ticks, budget, skips, rules, path + "." + name, depth + 1);
                continue;
            }
            if (child.Rule == SurvivorshipRule.MostRecent)
            {
                // a leaf where ruled paths lie below: today's rule; replacing the object drops the candidates under it
                var hadObject = traits.TryGetValue(name, out var before) && before.IsDocument;
                ApplyProperty(traits, times, p, ticks, budget, skips, path, depth);
                if (hadObject && !traits[name].IsDocument) budget.SetCandidates(sv, name, null);
                continue;
            }
            if (!TryToTree(p.Value, budget.Limits, budget.Limits.MaxTraitDepth - depth, out var value, out var why))
            {
                skips.Add(SkippedValues.Traits, $"{path}.{name}: {why}");
                continue;
            }
            if (TraitCandidate.IsBlank(value)) continue;
            TreeArray current;
            if (traits.TryGetValue(name, out var old) && old.IsDocument)
            {
                if (times.TryGetValue(name, out var t) && Newest(t) > ticks) continue;
                current = [];
            }
            else current = sv.TryGetValue(name, out var c) && c.IsArray ? c.AsArray : TraitCandidates.Seed(traits, times, name);
            var next = TraitCandidates.Combine(child, rules.Policy.MaxCandidates, current, TraitCandidates.Of(value, ticks, rules.Origin));
            if (budget.RefusesCandidates(traits, times, sv, name, next) is { } over) { skips.Add(SkippedValues.Traits, $"{path}.{name}: {over}"); continue; }
            var winner = next[0].AsDocument;
            traits[name] = winner["v"];
            times[name] = winner["t"];
            sv[name] = next;
        }
    }

    /// <summary>A merge with survivorship rules: a ruled leaf's candidates are combined (as if all events had gone to one profile).</summary>
    public static void Merge(TreeDocument traits, TreeDocument times, TreeDocument loserTraits, TreeDocument loserTimes, TraitBudget budget, SkipSink skips,
        SurvivorshipPolicy policy, TreeDocument candidates, TreeDocument loserCandidates)
    {
        if (policy.Root is not { } root) { Merge(traits, times, loserTraits, loserTimes, budget, skips, "traits", 1); return; }
        MergeRuled(traits, times, candidates, loserTraits, loserTimes, loserCandidates, root, policy, budget, skips, "traits", 1);
    }

    private static void MergeRuled(TreeDocument traits, TreeDocument times, TreeDocument sv, TreeDocument loserTraits, TreeDocument loserTimes, TreeDocument loserSv,
        SurvivorshipNode node, SurvivorshipPolicy policy, TraitBudget budget, SkipSink skips, string path, int depth)
    {
        foreach (var (name, value) in loserTraits)
        {
            if (!loserTimes.TryGetValue(name, out var lt)) continue;
            var child = node.Child(name);
            if (!child.Ruled) { MergeEntry(traits, times, name, value, lt, budget, skips, path, depth); continue; }
            var lsv = loserSv.TryGetValue(name, out var x) ? x : TreeValue.Null;
            if (value.IsDocument && lt.IsDocument)
            {
                if (!(traits.TryGetValue(name, out var existing) && existing.IsDocument && times.TryGetValue(name, out var et) && et.IsDocument))
                {
                    if (times.TryGetValue(name, out var t) && Newest(t) >= Newest(lt)) continue;
                    if (depth >= budget.Limits.MaxTraitDepth)
                    {
                        skips.Add(SkippedValues.Traits, $"{path}.{name} (merge): objects nested deeper than {budget.Limits.MaxTraitDepth} levels (MaxTraitDepth)");
                        continue;
                    }
                    if (budget.Refuses(traits, times, name, TraitBudget.ObjectCost(name)) is { } full) { skips.Add(SkippedValues.Traits, $"{path}.{name} (merge): {full}"); continue; }
                    traits[name] = new TreeDocument();
                    times[name] = new TreeDocument();
                    budget.SetCandidates(sv, name, new TreeDocument());
                }
                else if (!(sv.TryGetValue(name, out var s) && s.IsDocument)) budget.SetCandidates(sv, name, new TreeDocument());
                MergeRuled(traits[name].AsDocument, times[name].AsDocument, sv[name].AsDocument, value.AsDocument, lt.AsDocument,
                    lsv.IsDocument ? lsv.AsDocument : new TreeDocument(), child, policy, budget, skips, path + "." + name, depth + 1);
                continue;
            }
            if (child.Rule == SurvivorshipRule.MostRecent)
            {
                var hadObject = traits.TryGetValue(name, out var before) && before.IsDocument;
                MergeEntry(traits, times, name, value, lt, budget, skips, path, depth);
                if (hadObject && !traits[name].IsDocument) budget.SetCandidates(sv, name, null);
                continue;
            }
            var theirs = lsv.IsArray ? lsv.AsArray : TraitCandidates.Seed(loserTraits, loserTimes, name);
            if (theirs.Count == 0) continue;
            TreeArray current;
            if (traits.TryGetValue(name, out var old) && old.IsDocument)
            {
                if (times.TryGetValue(name, out var t) && Newest(t) >= Newest(lt)) continue;
                current = [];
            }
            else current = sv.TryGetValue(name, out var c) && c.IsArray ? c.AsArray : TraitCandidates.Seed(traits, times, name);
            var next = TraitCandidates.Combine(child, policy.MaxCandidates, current, theirs);
            if (budget.RefusesCandidates(traits, times, sv, name, next) is { } over) { skips.Add(SkippedValues.Traits, $"{path}.{name} (merge): {over}"); continue; }
            var winner = next[0].AsDocument;
            traits[name] = winner["v"];
            times[name] = winner["t"];
            sv[name] = next;
        }
    }

    private static long Newest(TreeValue time)
    {
        if (time.IsNumber) return time.AsInt64;
        if (!time.IsDocument) return long.MinValue;
        var newest = long.MinValue;
        foreach (var (_, v) in time.AsDocument) newest = Math.Max(newest, Newest(v));
        return newest;
    }

    /// <summary>
    /// JSON to BSON within the limits: integers that fit become Int64, other finite numbers doubles; dates stay strings.
    /// False (with the reason) for a string over MaxStringLength, a number no double holds, objects nested deeper than
    /// <paramref name="depthLeft"/> levels, or a key that is too long or holds a NUL.
    /// </summary>
    public static bool TryToTree(JsonElement v, ProfileLimits limits, int depthLeft, out TreeValue value, out string reason)
    {
        reason = "";
        value = TreeValue.Null;
        switch (v.ValueKind)
        {
            case JsonValueKind.String:
                var s = v.GetString()!;
                if (s.Length > limits.MaxStringLength) { reason = $"a string of {s.Length:N0} characters, over {limits.MaxStringLength:N0} (MaxStringLength)"; return false; }
                value = new TreeValue(s);
                return true;
            case JsonValueKind.Number:
                if (v.TryGetInt64(out var l)) { value = new TreeValue(l); return true; }
                if (v.TryGetDouble(out var d) && double.IsFinite(d)) { value = new TreeValue(d); return true; }
                reason = $"{SkippedValues.Describe(v)} is out of the range of a double";
                return false;
            case JsonValueKind.True: value = new TreeValue(true); return true;
            case JsonValueKind.False: value = new TreeValue(false); return true;
            case JsonValueKind.Array:
                var a = new TreeArray();
                foreach (var x in v.EnumerateArray())
                {
                    if (!TryToTree(x, limits, depthLeft, out var bx, out reason)) { reason = "in an array: " + reason; return false; }
                    a.Add(bx);
                }
                value = a;
                return true;
            case JsonValueKind.Object:
                if (depthLeft <= 0) { reason = $"objects nested deeper than {limits.MaxTraitDepth} levels (MaxTraitDepth)"; return false; }
                var doc = new TreeDocument();
                foreach (var p in v.EnumerateObject())
                {
                    if (p.Name.Length == 0) continue;
                    if (TraitBudget.BadKey(p.Name, limits) is { } badKey) { reason = badKey; return false; }
                    if (!TryToTree(p.Value, limits, depthLeft - 1, out var bp, out reason)) return false;
                    doc[p.Name] = bp;
                }
                value = doc;
                return true;
            default: return true;
        }
    }
}

/// <summary>
/// The trait keys and bytes of one document (a profile's or an account's traits with their timestamps), kept up to date as
/// values are applied so that a limit costs a few additions per value, never a re-serialisation. Bytes are BSON's.
/// </summary>
internal sealed class TraitBudget(ProfileLimits limits)
{
    public ProfileLimits Limits { get; } = limits;

    public int Keys { get; set; }

    public long Bytes { get; set; }

    /// <summary>Why a key cannot be stored (too long, a NUL, which BSON keys cannot hold), or null.</summary>
    public string? BadKey(string name) => BadKey(name, Limits);

    public static string? BadKey(string name, ProfileLimits limits)
    {
        if (name.Length > limits.MaxKeyLength) return $"a key of {name.Length:N0} characters, over {limits.MaxKeyLength} (MaxKeyLength)";
        return name.Contains('\0') ? $"the key \"{SkippedValues.Cut(name.Replace("\0", "\\0", StringComparison.Ordinal))}\" holds a NUL character" : null;
    }

    /// <summary>Why replacing <paramref name="name"/> (a leaf, a subtree, or nothing) with a value of <paramref name="cost"/> bytes would break a limit; null when it fits (then it is counted).</summary>
    public string? Refuses(TreeDocument traits, TreeDocument times, string name, long cost)
    {
        int oldKeys = 0;
        long oldBytes = 0;
        if (traits.TryGetValue(name, out var old)) (oldKeys, oldBytes) = Measure(name, old, times.TryGetValue(name, out var ot) ? ot : TreeValue.Null);
        var keys = Keys - oldKeys + 1;
        var bytes = Bytes - oldBytes + cost;
        if (keys > Limits.MaxTraitKeys && keys > Keys) return $"more than {Limits.MaxTraitKeys:N0} trait keys (MaxTraitKeys)";
        if (bytes > Limits.MaxTraitBytes && bytes > Bytes) return $"traits would take more than {Limits.MaxTraitBytes:N0} bytes (MaxTraitBytes)";
        Keys = keys;
        Bytes = bytes;
        return null;
    }

    /// <summary>
    /// Why a ruled leaf <paramref name="name"/> (value, timestamp and candidates) cannot become <paramref name="candidates"/>'s
    /// winner with these candidates; null when it fits (then it is counted). Candidates count in MaxTraitBytes like the traits.
    /// </summary>
    public string? RefusesCandidates(TreeDocument traits, TreeDocument times, TreeDocument sv, string name, TreeArray candidates)
    {
        int oldKeys = 0;
        long oldBytes = 0;
        if (traits.TryGetValue(name, out var old)) (oldKeys, oldBytes) = Measure(name, old, times.TryGetValue(name, out var ot) ? ot : TreeValue.Null);
        if (sv.TryGetValue(name, out var oldCandidates)) oldBytes += KeyCost(name) + Size(oldCandidates);
        var keys = Keys - oldKeys + 1;
        var bytes = Bytes - oldBytes + LeafCost(name, candidates[0]["v"]) + KeyCost(name) + Size(candidates);
        if (keys > Limits.MaxTraitKeys && keys > Keys) return $"more than {Limits.MaxTraitKeys:N0} trait keys (MaxTraitKeys)";
        if (bytes > Limits.MaxTraitBytes && bytes > Bytes) return $"traits and their survivorship candidates would take more than {Limits.MaxTraitBytes:N0} bytes (MaxTraitBytes)";
        Keys = keys;
        Bytes = bytes;
        return null;
    }

    /// <summary>Sets (null: removes) the candidates entry <paramref name="name"/> of <paramref name="sv"/>, counting its bytes.</summary>
    public void SetCandidates(TreeDocument sv, string name, TreeValue? value)
    {
        if (sv.TryGetValue(name, out var old)) Bytes -= KeyCost(name) + Size(old);
        if (value is null) { sv.Remove(name); return; }
        sv[name] = value;
        Bytes += KeyCost(name) + Size(value);
    }

    /// <summary>Keys and bytes of a whole traits document with its timestamps (documents written before the limits existed).</summary>
    public void Recount(TreeDocument traits, TreeDocument times)
    {
        Keys = 0;
        Bytes = 0;
        foreach (var (name, v) in traits)
        {
            var (k, b) = Measure(name, v, times.TryGetValue(name, out var t) ? t : TreeValue.Null);
            Keys += k;
            Bytes += b;
        }
    }

    private static (int Keys, long Bytes) Measure(string name, TreeValue value, TreeValue time)
    {
        if (!(value.IsDocument && time.IsDocument)) return (1, KeyCost(name) + Size(value) + KeyCost(name) + Size(time));
        var keys = 1;
        var bytes = ObjectCost(name);
        var times = time.AsDocument;
        foreach (var (n, v) in value.AsDocument)
        {
            var (k, b) = Measure(n, v, times.TryGetValue(n, out var t) ? t : TreeValue.Null);
            keys += k;
            bytes += b;
        }
        return (keys, bytes);
    }

    /// <summary>A leaf in the traits and its timestamp (an Int64) in the times document.</summary>
    public static long LeafCost(string name, TreeValue value) => 2 * KeyCost(name) + Size(value) + 8;

    /// <summary>An empty object in the traits and in the times document.</summary>
    public static long ObjectCost(string name) => 2 * (KeyCost(name) + 5);

    /// <summary>A key's BSON cost: type byte, UTF-8 name, NUL.</summary>
    private static long KeyCost(string name) => 2 + Encoding.UTF8.GetByteCount(name);

    /// <summary>BSON bytes of a value (without its key).</summary>
    public static long Size(TreeValue v)
    {
        switch (v.Type)
        {
            case TreeType.String: return 5 + Encoding.UTF8.GetByteCount(v.AsString);
            case TreeType.Int32: return 4;
            case TreeType.Int64 or TreeType.Double or TreeType.DateTime: return 8;
            case TreeType.Decimal or TreeType.Guid: return 16;
            case TreeType.Boolean: return 1;
            case TreeType.Binary: return 5 + v.AsBinary.Length;
            case TreeType.Document:
                long d = 5;
                foreach (var (k, x) in v.AsDocument) d += KeyCost(k) + Size(x);
                return d;
            case TreeType.Array:
                long a = 5;
                foreach (var x in v.AsArray) a += 8 + Size(x); // type byte, index as a key (up to 5 digits), NUL
                return a;
            default: return 0;
        }
    }
}
