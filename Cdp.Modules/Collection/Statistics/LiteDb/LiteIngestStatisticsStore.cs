using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Collection.Statistics.LiteDb;

/// <summary>cdp.db's ingest_stats collection: {_id: hour, c: [minute * 3 + (accepted, dead lettered, rejected)]}.</summary>
internal sealed class LiteIngestStatisticsStore(CdpDatabase db) : IIngestStatisticsStore
{
    public const string Collection = "ingest_stats";

    public IReadOnlyDictionary<long, long[]> Load(long oldestHour) => db.Collection(Collection).Find(Filter.GTE("_id", oldestHour))
        .ToDictionary(d => d["_id"].AsInt64, d => d["c"].AsArray.Select(v => v.AsInt64).ToArray());

    public void Save(IReadOnlyDictionary<long, long[]> hours, long oldestHour) => db.InTransaction(d =>
    {
        var col = d.GetCollection(Collection);
        foreach (var (h, counts) in hours)
            col.Upsert(new BsonDocument { ["_id"] = h, ["c"] = new BsonArray(counts.Select(v => new BsonValue(v))) });
        col.DeleteMany(Filter.LT("_id", oldestHour));
    });

    public void Add(IReadOnlyDictionary<long, long[]> deltas, long oldestHour) => db.InTransaction(d =>
    {
        var col = d.GetCollection(Collection);
        foreach (var (h, delta) in deltas)
        {
            var stored = col.FindById(h)?["c"].AsArray.Select(v => v.AsInt64).ToArray() ?? [];
            var sum = new long[Math.Max(stored.Length, delta.Length)];
            for (var i = 0; i < sum.Length; i++) sum[i] = (i < stored.Length ? stored[i] : 0) + (i < delta.Length ? delta[i] : 0);
            col.Upsert(new BsonDocument { ["_id"] = h, ["c"] = new BsonArray(sum.Select(v => new BsonValue(v))) });
        }
        col.DeleteMany(Filter.LT("_id", oldestHour));
    });
}
