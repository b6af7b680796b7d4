using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Identity.ProfileMatching;

/// <summary>
/// Which profiles changed since the last matching run: one document per processor batch (auto-numbered) with the
/// created or updated profile numbers, varint-coded, written in the batch's own transaction (so it is exact after a
/// crash) at the cost of one insert per batch. A run reads the documents after its checkpoint and deletes them.
/// </summary>
[Service]
internal sealed class MatchingJournal : IProfileBatchParticipant
{
    public const string Collection = "identity_match_journal";

    public void OnBatch(ProfileBatch batch, LiteDatabase db)
    {
        var changed = new List<long>(batch.Changes.Count);
        foreach (var c in batch.Changes)
            if (c.Kind is ProfileChangeKind.Created or ProfileChangeKind.Updated && ProfileIds.TryParse(c.ProfileId, out var no)) changed.Add(no);
        if (changed.Count == 0) return;
        changed.Sort();
        db.GetCollection(Collection, BsonAutoId.Int64).Insert(new BsonDocument { ["p"] = Varint.Encode(changed) });
    }

    /// <summary>A reprocess recreates every profile, and so journals every profile again.</summary>
    public void OnReset(LiteDatabase db) => db.GetCollection(Collection, BsonAutoId.Int64).DeleteAll();

    /// <summary>The changed profile numbers journalled after document <paramref name="after"/>, and the last document read.</summary>
    public static (HashSet<long> Profiles, long Last) ReadAfter(CdpDatabase db, long after)
    {
        var profiles = new HashSet<long>();
        var last = after;
        foreach (var d in db.Collection(Collection).Find(Query.GT("_id", after)).ToList())
        {
            profiles.UnionWith(Varint.Decode(d["p"].AsBinary));
            last = Math.Max(last, d["_id"].AsInt64);
        }
        return (profiles, last);
    }

    public static void DeleteThrough(CdpDatabase db, long last) => db.Collection(Collection).DeleteMany(Query.LTE("_id", last));
}
