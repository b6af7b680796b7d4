using System.Text.Json;
using LiteDB;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// Traits with a timestamp per leaf: the newest event timestamp wins per trait, nested objects are merged
/// leaf by leaf (an equal timestamp: the later event wins; in a merge, the winner keeps its value).
/// </summary>
internal static class TraitSet
{
    public static void Apply(BsonDocument traits, BsonDocument times, JsonElement incoming, long ticks)
    {
        foreach (var p in incoming.EnumerateObject())
        {
            var name = p.Name;
            if (name.Length == 0) continue;
            if (p.Value.ValueKind == JsonValueKind.Object)
            {
                if (!(traits.TryGetValue(name, out var existing) && existing.IsDocument && times.TryGetValue(name, out var et) && et.IsDocument))
                {
                    if (times.TryGetValue(name, out var t) && Newest(t) > ticks) continue;
                    traits[name] = new BsonDocument();
                    times[name] = new BsonDocument();
                }
                Apply(traits[name].AsDocument, times[name].AsDocument, p.Value, ticks);
                continue;
            }
            if (times.TryGetValue(name, out var time) && Newest(time) > ticks) continue;
            traits[name] = ToBson(p.Value);
            times[name] = ticks;
        }
    }

    /// <summary>Brings a merged-away profile's traits in: its leaves win only when strictly newer.</summary>
    public static void Merge(BsonDocument traits, BsonDocument times, BsonDocument loserTraits, BsonDocument loserTimes)
    {
        foreach (var (name, value) in loserTraits)
        {
            if (!loserTimes.TryGetValue(name, out var lt)) continue;
            if (value.IsDocument && lt.IsDocument)
            {
                if (!(traits.TryGetValue(name, out var existing) && existing.IsDocument && times.TryGetValue(name, out var et) && et.IsDocument))
                {
                    if (times.TryGetValue(name, out var t) && Newest(t) >= Newest(lt)) continue;
                    traits[name] = new BsonDocument();
                    times[name] = new BsonDocument();
                }
                Merge(traits[name].AsDocument, times[name].AsDocument, value.AsDocument, lt.AsDocument);
                continue;
            }
            if (times.TryGetValue(name, out var time) && Newest(time) >= Newest(lt)) continue;
            traits[name] = value;
            times[name] = lt;
        }
    }

    private static long Newest(BsonValue time)
    {
        if (!time.IsDocument) return time.AsInt64;
        var newest = long.MinValue;
        foreach (var (_, v) in time.AsDocument) newest = Math.Max(newest, Newest(v));
        return newest;
    }

    /// <summary>JSON to BSON: integers that fit become Int64, other numbers doubles; dates stay strings.</summary>
    public static BsonValue ToBson(JsonElement v)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.String: return new BsonValue(v.GetString());
            case JsonValueKind.Number: return v.TryGetInt64(out var l) ? new BsonValue(l) : new BsonValue(v.GetDouble());
            case JsonValueKind.True: return new BsonValue(true);
            case JsonValueKind.False: return new BsonValue(false);
            case JsonValueKind.Array:
                var a = new BsonArray();
                foreach (var x in v.EnumerateArray()) a.Add(ToBson(x));
                return a;
            case JsonValueKind.Object:
                var d = new BsonDocument();
                foreach (var p in v.EnumerateObject()) if (p.Name.Length > 0) d[p.Name] = ToBson(p.Value);
                return d;
            default: return BsonValue.Null;
        }
    }
}
