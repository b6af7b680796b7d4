using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Collection.TrackingPlans.LiteDb;

/// <summary>cdp.db's tracking_violations collection: {_id: "hour␟source␟type␟event␟property␟kind", h, s, t, e, p, k, n, at (ticks), x}.</summary>
internal sealed class LiteViolationStore(CdpDatabase db) : IViolationStore
{
    public const string Collection = "tracking_violations";

    public IReadOnlyList<ViolationRow> Load(long oldestHour) => db.Collection(Collection).Find(Filter.GTE("h", oldestHour))
        .Select(d => new ViolationRow(d["h"].AsInt64, d["s"].AsString, d["t"].AsString, d["e"].AsString, d["p"].AsString, d["k"].AsString,
            d["n"].AsInt64, d["at"].AsInt64, d["x"].AsString))
        .ToList();

    public void Add(IReadOnlyList<ViolationRow> rows, long oldestHour) => db.InTransaction(d =>
    {
        var col = d.GetCollection(Collection);
        foreach (var r in rows)
        {
            var id = string.Join('\u241f', r.Hour, r.Source, r.Type, r.Event, r.Property, r.Kind);
            var stored = col.FindById(id);
            var count = r.Count + (stored?["n"].AsInt64 ?? 0);
            var later = stored is null || r.LastAtTicks >= stored["at"].AsInt64;
            col.Upsert(new BsonDocument
            {
                ["_id"] = id, ["h"] = r.Hour, ["s"] = r.Source, ["t"] = r.Type, ["e"] = r.Event, ["p"] = r.Property, ["k"] = r.Kind,
                ["n"] = count, ["at"] = later ? r.LastAtTicks : stored!["at"].AsInt64, ["x"] = later ? r.Example : stored!["x"].AsString,
            });
        }
        col.DeleteMany(Filter.LT("h", oldestHour));
    });
}
