using System.Globalization;
using System.Text.Json;
using LiteDB;

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

    public ComputedTraits(ProfilesOptions options)
    {
        _traits = options.ComputedTraits.OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => (t.Key, t.Value, t.Value.Property?.Split('.'),
                (t.Value.Where ?? []).Select(w => (w.Key.Split('.'), w.Value)).ToArray()))
            .ToList();
    }

    public bool Any => _traits.Count > 0;

    public void Apply(BsonDocument state, string type, string? name, JsonElement properties, DateTime timestamp)
    {
        foreach (var (trait, o, path, where) in _traits)
        {
            if (o.Type != "*" && o.Type != type) continue;
            if (!string.IsNullOrEmpty(o.Event) && o.Event != name) continue;
            if (!Matches(properties, where)) continue;
            JsonElement value = default;
            if (path is not null && !TryGet(properties, path, out value)) continue;
            BsonDocument s;
            if (state.TryGetValue(trait, out var existing)) s = existing.AsDocument;
            else state[trait] = s = new BsonDocument();
            switch (o.Kind)
            {
                case ComputedKind.First or ComputedKind.Last:
                    var ticks = timestamp.Ticks;
                    var replace = !s.ContainsKey("t") || (o.Kind == ComputedKind.First ? ticks < s["t"].AsInt64 : ticks >= s["t"].AsInt64);
                    if (replace) { s["v"] = TraitSet.ToBson(value); s["t"] = ticks; }
                    break;
                case ComputedKind.Unique:
                    var values = s.TryGetValue("v", out var vs) ? vs.AsArray : (BsonArray)(s["v"] = new BsonArray());
                    var bv = TraitSet.ToBson(value);
                    if (values.Count < o.MaxValues && !values.Contains(bv)) values.Add(bv);
                    break;
                default:
                    double number = 0;
                    if (o.Kind != ComputedKind.Count && !TryNumber(value, out number)) break;
                    var buckets = s.TryGetValue("b", out var b) ? b.AsDocument : (BsonDocument)(s["b"] = new BsonDocument());
                    var key = o.Window is null ? "all" : Day(timestamp).ToString(CultureInfo.InvariantCulture);
                    Add(buckets, key, 1, number, number, number);
                    Trim(buckets, o.Window);
                    break;
            }
        }
    }

    /// <summary>Combines a merged-away profile's state into the winner's (winner first on ties).</summary>
    public void Merge(BsonDocument state, BsonDocument loser)
    {
        foreach (var (trait, o, _, _) in _traits)
        {
            if (!loser.TryGetValue(trait, out var lv)) continue;
            var l = lv.AsDocument;
            if (!state.TryGetValue(trait, out var wv)) { state[trait] = l; continue; }
            var w = wv.AsDocument;
            switch (o.Kind)
            {
                case ComputedKind.First or ComputedKind.Last:
                    if (!w.ContainsKey("t") || (o.Kind == ComputedKind.First ? l["t"].AsInt64 < w["t"].AsInt64 : l["t"].AsInt64 > w["t"].AsInt64))
                    { w["v"] = l["v"]; w["t"] = l["t"]; }
                    break;
                case ComputedKind.Unique:
                    var values = w["v"].AsArray;
                    foreach (var v in l["v"].AsArray) if (values.Count < o.MaxValues && !values.Contains(v)) values.Add(v);
                    break;
                default:
                    var buckets = w["b"].AsDocument;
                    foreach (var (key, bucket) in l["b"].AsDocument)
                    {
                        var a = bucket.AsArray;
                        Add(buckets, key, a[0].AsDouble, a[1].AsDouble, a[2].AsDouble, a[3].AsDouble);
                    }
                    Trim(buckets, o.Window);
                    break;
            }
        }
    }

    /// <summary>Trait values for reading, windows relative to <paramref name="now"/>.</summary>
    public BsonDocument Values(BsonDocument state, DateTime now)
    {
        var result = new BsonDocument();
        foreach (var (trait, o, _, _) in _traits)
        {
            if (!state.TryGetValue(trait, out var sv))
            {
                result[trait] = o.Kind == ComputedKind.Count ? new BsonValue(0) : o.Kind == ComputedKind.Unique ? new BsonArray() : BsonValue.Null;
                continue;
            }
            var s = sv.AsDocument;
            switch (o.Kind)
            {
                case ComputedKind.First or ComputedKind.Last: result[trait] = s["v"]; break;
                case ComputedKind.Unique: result[trait] = s["v"]; break;
                default:
                    var from = o.Window is { } window ? Day(now) - (int)window.TotalDays + 1 : int.MinValue;
                    double count = 0, sum = 0, min = double.MaxValue, max = double.MinValue;
                    foreach (var (key, bucket) in s["b"].AsDocument)
                    {
                        if (key != "all" && int.Parse(key, CultureInfo.InvariantCulture) < from) continue;
                        var a = bucket.AsArray;
                        count += a[0].AsDouble; sum += a[1].AsDouble;
                        min = Math.Min(min, a[2].AsDouble); max = Math.Max(max, a[3].AsDouble);
                    }
                    result[trait] = o.Kind switch
                    {
                        ComputedKind.Count => new BsonValue((long)count),
                        ComputedKind.Sum => new BsonValue(sum),
                        _ when count == 0 => BsonValue.Null,
                        ComputedKind.Min => new BsonValue(min),
                        ComputedKind.Max => new BsonValue(max),
                        _ => new BsonValue(sum / count),
                    };
                    break;
            }
        }
        return result;
    }

    private static void Add(BsonDocument buckets, string key, double count, double sum, double min, double max)
    {
        if (buckets.TryGetValue(key, out var existing))
        {
            var a = existing.AsArray;
            a[0] = a[0].AsDouble + count;
            a[1] = a[1].AsDouble + sum;
            a[2] = Math.Min(a[2].AsDouble, min);
            a[3] = Math.Max(a[3].AsDouble, max);
        }
        else buckets[key] = new BsonArray { count, sum, min, max };
    }

    private static void Trim(BsonDocument buckets, TimeSpan? window)
    {
        if (window is null || buckets.Count < 2) return;
        var newest = buckets.Keys.Max(k => int.Parse(k, CultureInfo.InvariantCulture));
        var from = newest - (int)window.Value.TotalDays + 1;
        foreach (var k in buckets.Keys.Where(k => int.Parse(k, CultureInfo.InvariantCulture) < from).ToList()) buckets.Remove(k);
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

    private static bool TryNumber(JsonElement v, out double number)
    {
        number = 0;
        if (v.ValueKind == JsonValueKind.Number) { number = v.GetDouble(); return true; }
        return v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out number);
    }
}
