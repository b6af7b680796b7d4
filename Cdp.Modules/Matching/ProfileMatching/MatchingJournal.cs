using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Modules.Matching.ProfileMatching;

/// <summary>
/// Which profiles changed since the last matching run, written in each processor batch's own transaction (so it is
/// exact after a crash). Profile numbers (varint-coded, ascending) are added to the newest journal document until it
/// holds <see cref="MaxPerDocument"/>, so the journal grows with the profiles changed, not with the batches (a quiet
/// site makes a batch per event). A run first seals the journal with a new empty document: batches committed after
/// that write into the new one, and the run reads and then deletes only the documents before it.
/// </summary>
[Service]
internal sealed class MatchingJournal : IProfileBatchParticipant
{
    public const string Collection = "identity_match_journal";

    /// <summary>Profile numbers per journal document (~3 bytes each): bounds the decode-merge-encode a batch pays (about a millisecond).</summary>
    public const int MaxPerDocument = 10_000;

    public void OnBatch(ProfileBatch batch, IUnitOfWork tx)
    {
        var db = tx.Lite();
        var changed = new List<long>(batch.Changes.Count);
        foreach (var c in batch.Changes)
            if (c.Kind is ProfileChangeKind.Created or ProfileChangeKind.Updated && ProfileIds.TryParse(c.ProfileId, out var no)) changed.Add(no);
        if (changed.Count == 0) return;
        changed.Sort();
        var journal = db.GetCollection(Collection, BsonAutoId.Int64);
        var newest = journal.Find(Query.All("_id", Query.Descending), limit: 1).FirstOrDefault();
        if (newest is not null && newest["n"].AsInt32 + changed.Count <= MaxPerDocument)
        {
            var merged = Varint.Decode(newest["p"].AsBinary).Concat(changed).Distinct().Order().ToList();
            newest["p"] = Varint.Encode(merged);
            newest["n"] = merged.Count;
            journal.Update(newest);
            return;
        }
        journal.Insert(new BsonDocument { ["p"] = Varint.Encode(changed), ["n"] = changed.Count });
    }

    /// <summary>
    /// A reprocess recreates every profile, and so journals every profile again. The run checkpoint goes back to 0 with
    /// it: an emptied collection may number its documents from 1 again after a restart.
    /// </summary>
    public void OnReset(IUnitOfWork tx)
    {
        var db = tx.Lite();
        db.GetCollection(Collection, BsonAutoId.Int64).DeleteAll();
        MatchingStore.ResetJournalCheckpoint(db);
    }

    /// <summary>Seals the journal (later batches write after the seal) and returns the profiles journalled before it, after document <paramref name="after"/>, with the last document read.</summary>
    public static (HashSet<long> Profiles, long Last) Seal(CdpDatabase db, long after)
    {
        var seal = db.InTransaction(d => d.GetCollection(Collection, BsonAutoId.Int64).Insert(new BsonDocument { ["p"] = Varint.Encode([]), ["n"] = 0 }).AsInt64);
        var journal = db.Collection(Collection);
        var profiles = new HashSet<long>();
        foreach (var d in journal.Find(Filter.Inside("_id", after, seal)).ToList())
            profiles.UnionWith(Varint.Decode(d["p"].AsBinary));
        return (profiles, seal - 1);
    }

    public static void DeleteThrough(CdpDatabase db, long last) =>
        db.InTransaction(d => d.GetCollection(Collection, BsonAutoId.Int64).DeleteMany(Filter.LTE("_id", last)));
}
