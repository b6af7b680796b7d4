using System.Globalization;
using System.Text.Json;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// Computed traits from <c>Cdp:Profiles:ComputedTraits</c>, maintained per event and combined on merges.
/// State (stored per profile): Count/Sum/Min/Max/Avg keep [count, sum, min, max] per day bucket when windowed
/// (buckets older than the window before the profile's newest bucket are dropped, so the state does not depend on
/// when it is computed), or one bucket "all"; First/Last keep { v, t }; Unique keeps the first MaxValues values.
/// Values are computed at read time, windows relative to now.
/// </summary>
internal sealed class ComputedTraits
{
    private readonly List<(string Name, ComputedTraitOptions Options, string[]? Path, (string[] Path, string Value)[] Where)> _traits;

    /// <summary>Where the processor's batches add the values they skipped once committed (the projection's one metric).</summary>
    public SkippedValueMetrics? SkipMetrics { get; }

    public ComputedTraits(ProfilesOptions options, SkippedValueMetrics? skipMetrics = null)
    {
        SkipMetrics = skipMetrics;
        _traits = options.ComputedTraits.OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => (t.Key, t.Value, t.Value.Property?.Split('.'),
                (t.Value.Where ?? []).Select(w => (w.Key.Split('.'), w.Value)).ToArray()))
            .ToList();
    }

    public bool Any => _traits.Count > 0;

    /// <summary>
    /// Applies one event. Total: a value of the wrong type for the trait's kind (a Sum of "12.50 EUR", a Unique of an
    /// object), a number no double holds, "NaN"/"Infinity", or a value over the limits is skipped and recorded in
    /// <paramref name="skips"/> as computed.&lt;name&gt;; the trait's state is created only when a value is taken.
    /// </summary>
    public void Apply(TreeDocument state, string type, string? name, JsonElement properties, DateTime timestamp, ProfileLimits limits, SkipSink skips)
    {
        foreach (var (trait, o, path, where) in _traits)
        {
            if (o.Type != "*" && o.Type != type) continue;
            if (!string.IsNullOrEmpty(o.Event) && o.Event != name) continue;
            if (!Matches(properties, where)) continue;
            JsonElement value = default;
            if (path is not null && !TryGet(properties, path, out value)) continue;
            switch (o.Kind)
            {
                case ComputedKind.First or ComputedKind.Last:
                {
                    if (!TraitSet.TryToTree(value, limits, limits.MaxTraitDepth, out var bv, out var why)) { skips.Add(SkippedValues.Computed(trait), $"{o.Property}: {why}"); break; }
                    var s = State(state, trait);
                    var ticks = timestamp.Ticks;
                    var replace = !(s.TryGetValue("t", out var t) && t.IsNumber) || (o.Kind == ComputedKind.First ? ticks < t.AsInt64 : ticks >= t.AsInt64);
                    if (replace) { s["v"] = bv; s["t"] = ticks; }
                    break;
                }
                case ComputedKind.Unique:
                {
                    if (value.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
                    {
                        skips.Add(SkippedValues.Computed(trait), $"{o.Property}: {SkippedValues.Describe(value)}, not a single value");
                        break;
                    }
                    if (value.ValueKind == JsonValueKind.String && value.GetString()!.Length > limits.MaxKeyLength)
                    {
                        skips.Add(SkippedValues.Computed(trait), $"{o.Property}: a string of {value.GetString()!.Length:N0} characters, over {limits.MaxKeyLength} (MaxKeyLength)");
                        break;
                    }
                    if (!TraitSet.TryToTree(value, limits, 0, out var bv, out var why)) { skips.Add(SkippedValues.Computed(trait), $"{o.Property}: {why}"); break; }
                    var s = State(state, trait);
                    var values = s.TryGetValue("v", out var vs) && vs.IsArray ? vs.AsArray : (TreeArray)(s["v"] = new TreeArray());
                    if (values.Contains(bv)) break;
                    if (values.Count < o.MaxValues) values.Add(bv);
                    else skips.Add(SkippedValues.Computed(trait), $"{o.Property}: already {o.MaxValues} values (MaxValues)");
                    break;
                }
                default:
                {
                    double number = 0;
                    if (o.Kind != ComputedKind.Count && !TryNumber(value, out number))
                    {
                        skips.Add(SkippedValues.Computed(trait), $"{o.Property}: {SkippedValues.Describe(value)} is not a finite number");
                        break;
                    }
                    var key = o.Window is null ? "all" : Day(timestamp).ToString(CultureInfo.InvariantCulture);
                    var s = State(state, trait);
                    var buckets = s.TryGetValue("b", out var b) && b.IsDocument ? b.AsDocument : (TreeDocument)(s["b"] = new TreeDocument());
                    if (!Add(buckets, key, 1, number, number, number))
                    {
                        skips.Add(SkippedValues.Computed(trait), $"{o.Property}: adding {number.ToString("R", CultureInfo.InvariantCulture)} would overflow the sum (beyond ±1.8e308)");
                        break;
                    }
                    Trim(buckets, o.Window);
                    break;
                }
            }
        }
    }

    private static TreeDocument State(TreeDocument state, string trait)
    {
        if (state.TryGetValue(trait, out var existing) && existing.IsDocument) return existing.AsDocument;
        var s = new TreeDocument();
        state[trait] = s;
        return s;
    }

    /// <summary>Combines a merged-away profile's state into the winner's (winner first on ties). States of an unexpected shape count as empty.</summary>
    public void Merge(TreeDocument state, TreeDocument loser, SkipSink skips)
    {
        foreach (var (trait, o, _, _) in _traits)
        {
            if (!loser.TryGetValue(trait, out var lv) || !lv.IsDocument) continue;
            var l = lv.AsDocument;
            if (!state.TryGetValue(trait, out var wv) || !wv.IsDocument) { state[trait] = l; continue; }
            var w = wv.AsDocument;
            switch (o.Kind)
            {
                case ComputedKind.First or ComputedKind.Last:
                    if (!(l.TryGetValue("t", out var lt) && lt.IsNumber)) break;
                    if (!(w.TryGetValue("t", out var wt) && wt.IsNumber) || (o.Kind == ComputedKind.First ? lt.AsInt64 < wt.AsInt64 : lt.AsInt64 > wt.AsInt64))
                    { w["v"] = l["v"]; w["t"] = lt; }
                    break;
                case ComputedKind.Unique:
                    if (!(l.TryGetValue("v", out var lvs) && lvs.IsArray)) break;
                    var values = w.TryGetValue("v", out var wvs) && wvs.IsArray ? wvs.AsArray : (TreeArray)(w["v"] = new TreeArray());
                    foreach (var v in lvs.AsArray) if (values.Count < o.MaxValues && !values.Contains(v)) values.Add(v);
                    break;
                default:
                    if (!(l.TryGetValue("b", out var lb) && lb.IsDocument)) break;
                    var buckets = w.TryGetValue("b", out var wb) && wb.IsDocument ? wb.AsDocument : (TreeDocument)(w["b"] = new TreeDocument());
                    foreach (var (key, bucket) in lb.AsDocument)
                    {
                        if (!Bucket(bucket, out var a)) continue;
                        if (!Add(buckets, key, a[0], a[1], a[2], a[3]))
                            skips.Add(SkippedValues.Computed(trait), $"merge: a sum of {a[1].ToString("R", CultureInfo.InvariantCulture)} would overflow the sum (beyond ±1.8e308)");
                    }
                    Trim(buckets, o.Window);
                    break;
            }
        }
    }

    /// <summary>Trait values for reading, windows relative to <paramref name="now"/>. Never throws: a state of an unexpected shape reads as no value.</summary>
    public TreeDocument Values(TreeDocument state, DateTime now)
    {
        var result = new TreeDocument();
        foreach (var (trait, o, _, _) in _traits)
        {
            var empty = o.Kind == ComputedKind.Count ? new TreeValue(0) : o.Kind == ComputedKind.Unique ? new TreeArray() : TreeValue.Null;
            if (!state.TryGetValue(trait, out var sv) || !sv.IsDocument)
            {
                result[trait] = empty;
                continue;
            }
            var s = sv.AsDocument;
            switch (o.Kind)
            {
                case ComputedKind.First or ComputedKind.Last: result[trait] = s.TryGetValue("v", out var v) ? v : TreeValue.Null; break;
                case ComputedKind.Unique: result[trait] = s.TryGetValue("v", out var u) && u.IsArray ? u : empty; break;
                default:
                    var from = o.Window is { } window ? Day(now) - (int)window.TotalDays + 1 : int.MinValue;
                    double count = 0, sum = 0, min = double.MaxValue, max = double.MinValue;
                    if (s.TryGetValue("b", out var b) && b.IsDocument)
                        foreach (var (key, bucket) in b.AsDocument)
                        {
                            if (key != "all" && (!int.TryParse(key, NumberStyles.Integer, CultureInfo.InvariantCulture, out var day) || day < from)) continue;
                            if (!Bucket(bucket, out var a)) continue;
                            count += a[0]; sum += a[1];
                            min = Math.Min(min, a[2]); max = Math.Max(max, a[3]);
                        }
                    // day buckets that each fit can overflow together: a windowed sum reads as the largest double then
                    sum = Math.Clamp(sum, double.MinValue, double.MaxValue);
                    result[trait] = o.Kind switch
                    {
                        ComputedKind.Count => new TreeValue((long)Math.Min(count, long.MaxValue)),
                        ComputedKind.Sum => new TreeValue(sum),
                        _ when count == 0 => TreeValue.Null,
                        ComputedKind.Min => new TreeValue(min),
                        ComputedKind.Max => new TreeValue(max),
                        _ => new TreeValue(sum / count),
                    };
                    break;
            }
        }
        return result;
    }

    /// <summary>A stored bucket [count, sum, min, max] of finite numbers, or false.</summary>
    private static bool Bucket(TreeValue bucket, out double[] values)
    {
        values = [];
        if (!bucket.IsArray || bucket.AsArray.Count != 4) return false;
        var a = bucket.AsArray;
        values = [a[0].IsNumber ? a[0].AsDouble : double.NaN, a[1].IsNumber ? a[1].AsDouble : double.NaN, a[2].IsNumber ? a[2].AsDouble : double.NaN, a[3].IsNumber ? a[3].AsDouble : double.NaN];
        return values.All(double.IsFinite);
    }

    /// <summary>Adds to a bucket; false (nothing changed) when its sum would leave the finite doubles. A damaged bucket is replaced.</summary>
    private static bool Add(TreeDocument buckets, string key, double count, double sum, double min, double max)
    {
        if (buckets.TryGetValue(key, out var existing) && Bucket(existing, out var a))
        {
            var total = a[1] + sum;
            if (!double.IsFinite(total)) return false;
            buckets[key] = new TreeArray { a[0] + count, total, Math.Min(a[2], min), Math.Max(a[3], max) };
        }
        else buckets[key] = new TreeArray { count, sum, min, max };
        return true;
    }

    private static void Trim(TreeDocument buckets, TimeSpan? window)
    {
        if (window is null || buckets.Count < 2) return;
        var newest = int.MinValue;
        foreach (var k in buckets.Keys) if (int.TryParse(k, NumberStyles.Integer, CultureInfo.InvariantCulture, out var d)) newest = Math.Max(newest, d);
        var from = newest - (int)window.Value.TotalDays + 1;
        foreach (var k in buckets.Keys.Where(k => !int.TryParse(k, NumberStyles.Integer, CultureInfo.InvariantCulture, out var d) || d < from).ToList()) buckets.Remove(k);
    }

    private static int Day(DateTime t) => (int)(t.Ticks / TimeSpan.TicksPerDay);

    private static bool Matches(JsonElement properties, (string[] Path, string Value)[] where)
    {
        foreach (var (path, expected) in where)
        {
            if (!TryGet(properties, path, out var v)) return false;
            var actual = v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => v.GetRawText(),
            };
            if (!string.Equals(actual, expected, StringComparison.Ordinal)) return false;
        }
        return true;
    }

    private static bool TryGet(JsonElement e, string[] path, out JsonElement value)
    {
        value = e;
        foreach (var p in path)
        {
            if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(p, out value)) return false;
        }
        return value.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);
    }

    /// <summary>A finite number: a JSON number or a string that parses as one ("12.5", "1e3"); not "NaN", "Infinity" or "1e309".</summary>
    private static bool TryNumber(JsonElement v, out double number)
    {
        number = 0;
        var ok = v.ValueKind switch
        {
            JsonValueKind.Number => v.TryGetDouble(out number),
            JsonValueKind.String => double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out number),
            _ => false,
        };
        return ok && double.IsFinite(number);
    }
}
