using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Activation.Engine;

/// <summary>What the destination has of one profile, as far as the sync knows (its checkpoint).</summary>
/// <param name="Key">The identifier sent (email...).</param>
/// <param name="Hash">Hash of the identifier and the mapped fields last acknowledged (or attempted, when rejected).</param>
/// <param name="AtDestination">The destination acknowledged this member at least once (so a removal must be sent).</param>
/// <param name="Rejected">The last attempt was refused: retried next run.</param>
/// <param name="Erased">The person was deleted (privacy): the next run removes them at the destination, then the record goes.
/// Until then <see cref="Key"/> is the only thing kept of them: the destination is keyed by it.</param>
internal sealed record MemberRecord(string Key, long Hash, bool AtDestination, bool Rejected, string? Reason, bool Erased = false);

/// <summary>A state change of one batch, written only after the destination acknowledged the batch.</summary>
internal sealed record MemberCommit(string ProfileId, MemberRecord? Record);

/// <summary>
/// Per-sync member state in LiteDB (collection activation_members, _id "&lt;sync&gt;|&lt;profile&gt;"), plus small per-sync values
/// a destination keeps (e.g. the Mailchimp static segment id) in activation_syncs.
/// </summary>
[Service]
internal sealed class MemberState(CdpDatabase db)
{
    private const string Members = "activation_members";
    private const string Syncs = "activation_syncs";

    /// <summary>Set on a record by a privacy erasure (see <see cref="MemberRecord.Erased"/>).</summary>
    private const string ErasedField = "x";

    /// <summary>
    /// Members the destination acknowledged once and that later left the sync (activation_departed, _id as activation_members,
    /// k = the address sent): the vendor still has the contact (untagged, archived, off the list), so a privacy erasure must
    /// still reach it. Written only when a removal is committed, read only by erasure and export.
    /// </summary>
    private const string Departed = "activation_departed";

    /// <summary>
    /// Privacy erasure, inside the caller's transaction: every record of the person goes (current members and departed ones);
    /// the addresses the destinations were sent are returned, by sync, for the deletion calls at the vendors, which replace the
    /// removal a next run would otherwise send. Returns the records removed too.
    /// </summary>
    public (long Records, List<(string Sync, string Key)> Sent) Erase(LiteDatabase d, IEnumerable<string> syncs, IReadOnlyCollection<string> profileIds)
    {
        var col = d.GetCollection(Members, BsonAutoId.Int64);
        var departed = d.GetCollection(Departed, BsonAutoId.Int64);
        long touched = 0;
        var sent = new List<(string, string)>();
        foreach (var sync in syncs)
        foreach (var profileId in profileIds)
        {
            var id = Id(sync, profileId);
            if (col.FindById(id) is { } doc)
            {
                touched++;
                if (doc["v"].AsBoolean) sent.Add((sync, doc["k"].AsString));
                col.Delete(id);
            }
            if (departed.FindById(id) is { } gone)
            {
                touched++;
                sent.Add((sync, gone["k"].AsString));
                departed.Delete(id);
            }
        }
        return (touched, sent.Distinct().ToList());
    }

    /// <summary>Addresses a destination was sent for the person and that left the sync since (subject access export).</summary>
    public IEnumerable<(string Sync, string Key)> FindDeparted(IEnumerable<string> syncs, IReadOnlyCollection<string> profileIds)
    {
        var col = db.Collection(Departed);
        foreach (var sync in syncs)
        foreach (var profileId in profileIds)
            if (col.FindById(Id(sync, profileId)) is { } d)
                yield return (sync, d["k"].AsString);
    }

    /// <summary>The person's records per sync, for a subject access export.</summary>
    public IEnumerable<(string Sync, MemberRecord Record)> Find(IEnumerable<string> syncs, IReadOnlyCollection<string> profileIds)
    {
        var col = db.Collection(Members);
        foreach (var sync in syncs)
        foreach (var profileId in profileIds)
            if (col.FindById(Id(sync, profileId)) is { } d)
                yield return (sync, new MemberRecord(d["k"].AsString, d["h"].AsInt64, d["v"].AsBoolean, d["r"].AsBoolean, d["e"].IsNull ? null : d["e"].AsString,
                    d.TryGetValue(ErasedField, out var x) && x.AsBoolean));
    }

    private static string Id(string sync, string profileId) => sync + "|" + profileId;

    public Dictionary<string, MemberRecord> Load(string sync)
    {
        var prefix = sync + "|";
        var result = new Dictionary<string, MemberRecord>(StringComparer.Ordinal);
        foreach (var d in db.Collection(Members).Find(Filter.StartsWith("_id", prefix)))
        {
            var id = d["_id"].AsString;
            if (!id.StartsWith(prefix, StringComparison.Ordinal)) continue; // the index compares case-insensitively
            result[id[prefix.Length..]] = new MemberRecord(d["k"].AsString, d["h"].AsInt64, d["v"].AsBoolean, d["r"].AsBoolean, d["e"].IsNull ? null : d["e"].AsString,
                d.TryGetValue(ErasedField, out var x) && x.AsBoolean);
        }
        return result;
    }

    public (long Members, long Rejected) Count(string sync)
    {
        long members = 0, rejected = 0;
        var prefix = sync + "|";
        foreach (var d in db.Collection(Members).Query().Where(Filter.StartsWith("_id", prefix)).Select((BsonExpression)"{_id, v, r}").ToEnumerable())
        {
            if (!d["_id"].AsString.StartsWith(prefix, StringComparison.Ordinal)) continue;
            if (d["r"].AsBoolean) rejected++;
            else if (d["v"].AsBoolean) members++;
        }
        return (members, rejected);
    }

    /// <summary>One transaction per acknowledged batch: the batch is in the destination and in the checkpoint, or (after a crash) resent.</summary>
    public void Commit(string sync, IReadOnlyCollection<MemberCommit> commits)
    {
        if (commits.Count == 0) return;
        db.InTransaction(d =>
        {
            var col = d.GetCollection(Members, BsonAutoId.Int64);
            ILiteCollection<BsonDocument>? departed = null;
            foreach (var c in commits)
            {
                var id = Id(sync, c.ProfileId);
                if (c.Record is null)
                {
                    // A member the destination had stays known there (the vendor keeps the contact): remembered for erasure.
                    if (col.FindById(id) is { } old && old["v"].AsBoolean)
                        (departed ??= d.GetCollection(Departed, BsonAutoId.Int64)).Upsert(new BsonDocument { ["_id"] = id, ["k"] = old["k"] });
                    col.Delete(id);
                    continue;
                }
                col.Upsert(new BsonDocument
                {
                    ["_id"] = id,
                    ["k"] = c.Record.Key,
                    ["h"] = c.Record.Hash,
                    ["v"] = c.Record.AtDestination,
                    ["r"] = c.Record.Rejected,
                    ["e"] = c.Record.Reason is null ? BsonValue.Null : new BsonValue(c.Record.Reason),
                });
            }
        });
    }

    public string? Remote(string sync, string name) =>
        db.Collection(Syncs).FindById(sync)?[name] is { IsString: true } v ? v.AsString : null;

    public void SetRemote(string sync, string name, string value) => db.InTransaction(d =>
    {
        var col = d.GetCollection(Syncs, BsonAutoId.Int64);
        var doc = col.FindById(sync) ?? new BsonDocument { ["_id"] = sync };
        doc[name] = value;
        col.Upsert(doc);
    });
}
