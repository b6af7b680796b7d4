using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;

namespace Cdp.Modules.Activation.Engine.LiteDb;

/// <summary>
/// Activation in LiteDB: activation_members (_id "&lt;sync&gt;|&lt;profile&gt;"), activation_departed (same _id, k = the address
/// sent), activation_syncs (per-sync values), activation_runs (auto id, indexed by sync) and activation_erasures (_id = the
/// deletion's receipt id).
/// </summary>
internal sealed class LiteActivationStore : IActivationStore
{
    private const string MembersCollection = "activation_members";
    private const string Syncs = "activation_syncs";
    private const string Departed = "activation_departed";
    private const string Runs = "activation_runs";
    private const string Erasures = "activation_erasures";

    /// <summary>Set on a record by a privacy erasure (see <see cref="MemberRecord.Erased"/>).</summary>
    private const string ErasedField = "x";

    private readonly CdpDatabase db;

    public LiteActivationStore(CdpDatabase db)
    {
        this.db = db;
        db.InTransaction(d => d.GetCollection(Runs, BsonAutoId.Int64).EnsureIndex("sync", "$.sync"));
    }

    private static string Id(string sync, string profileId) => sync + "|" + profileId;

    private static BsonDocument MemberDocument(string id, MemberRecord r)
    {
        var doc = new BsonDocument
        {
            ["_id"] = id, ["k"] = r.Key, ["h"] = r.Hash, ["v"] = r.AtDestination, ["r"] = r.Rejected,
            ["e"] = r.Reason is null ? BsonValue.Null : new BsonValue(r.Reason),
        };
        if (r.Erased) doc[ErasedField] = true;
        return doc;
    }

    private static MemberRecord Record(BsonDocument d) =>
        new(d["k"].AsString, d["h"].AsInt64, d["v"].AsBoolean, d["r"].AsBoolean, d["e"].IsNull ? null : d["e"].AsString,
            d.TryGetValue(ErasedField, out var x) && x.AsBoolean);

    public Dictionary<string, MemberRecord> Members(string sync)
    {
        var prefix = sync + "|";
        var result = new Dictionary<string, MemberRecord>(StringComparer.Ordinal);
        foreach (var d in db.Collection(MembersCollection).Find(Filter.StartsWith("_id", prefix)))
        {
            var id = d["_id"].AsString;
            if (!id.StartsWith(prefix, StringComparison.Ordinal)) continue; // the index compares case-insensitively
            result[id[prefix.Length..]] = Record(d);
        }
        return result;
    }

    public (long Members, long Rejected) CountMembers(string sync)
    {
        long members = 0, rejected = 0;
        var prefix = sync + "|";
        foreach (var d in db.Collection(MembersCollection).Query().Where(Filter.StartsWith("_id", prefix)).Select((BsonExpression)"{_id, v, r}").ToEnumerable())
        {
            if (!d["_id"].AsString.StartsWith(prefix, StringComparison.Ordinal)) continue;
            if (d["r"].AsBoolean) rejected++;
            else if (d["v"].AsBoolean) members++;
        }
        return (members, rejected);
    }

    public void Commit(string sync, IReadOnlyCollection<MemberCommit> commits) => db.InTransaction(d =>
    {
        var col = d.GetCollection(MembersCollection, BsonAutoId.Int64);
        ILiteCollection<BsonDocument>? departed = null;
        foreach (var c in commits)
        {
            var id = Id(sync, c.ProfileId);
            if (c.Record is null)
            {
                if (col.FindById(id) is { } old && old["v"].AsBoolean)
                    (departed ??= d.GetCollection(Departed, BsonAutoId.Int64)).Upsert(new BsonDocument { ["_id"] = id, ["k"] = old["k"] });
                col.Delete(id);
                continue;
            }
            col.Upsert(MemberDocument(id, c.Record with { Erased = false })); // a commit clears the erased mark
        }
    });

    public IEnumerable<(string Sync, MemberRecord Record)> FindMembers(IEnumerable<string> syncs, IReadOnlyCollection<string> profileIds)
    {
        var col = db.Collection(MembersCollection);
        foreach (var sync in syncs)
        foreach (var profileId in profileIds)
            if (col.FindById(Id(sync, profileId)) is { } d)
                yield return (sync, Record(d));
    }

    public IEnumerable<(string Sync, string Key)> FindDeparted(IEnumerable<string> syncs, IReadOnlyCollection<string> profileIds)
    {
        var col = db.Collection(Departed);
        foreach (var sync in syncs)
        foreach (var profileId in profileIds)
            if (col.FindById(Id(sync, profileId)) is { } d)
                yield return (sync, d["k"].AsString);
    }

    public (long Records, List<(string Sync, string Key)> Sent) EraseMembers(IUnitOfWork tx, IEnumerable<string> syncs, IReadOnlyCollection<string> profileIds)
    {
        var d = tx.Lite();
        var col = d.GetCollection(MembersCollection, BsonAutoId.Int64);
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

    public string? Remote(string sync, string name) =>
        db.Collection(Syncs).FindById(sync)?[name] is { IsString: true } v ? v.AsString : null;

    public void SetRemote(string sync, string name, string value) => db.InTransaction(d =>
    {
        var col = d.GetCollection(Syncs, BsonAutoId.Int64);
        var doc = col.FindById(sync) ?? new BsonDocument { ["_id"] = sync };
        doc[name] = value;
        col.Upsert(doc);
    });

    public void MarkInterruptedRuns(string reason) => db.InTransaction(d =>
    {
        var col = d.GetCollection(Runs, BsonAutoId.Int64);
        foreach (var run in col.Find(Filter.EQ("status", SyncRunStatus.Running)).ToList())
        {
            run["status"] = SyncRunStatus.Failed;
            run["stopped"] = reason;
            col.Update(run);
        }
    });

    public void MarkInterruptedRuns(string sync, string reason) => db.InTransaction(d =>
    {
        var col = d.GetCollection(Runs, BsonAutoId.Int64);
        foreach (var run in col.Find(Filter.EQ("status", SyncRunStatus.Running)).Where(r => r["sync"].AsString == sync).ToList())
        {
            run["status"] = SyncRunStatus.Failed;
            run["stopped"] = reason;
            col.Update(run);
        }
    });

    /// <summary>One process per LiteDB file: the engine's gate keeps a sync's runs apart.</summary>
    public IDisposable? TryHoldRun(string sync) => Held.Instance;

    private sealed class Held : IDisposable
    {
        public static readonly Held Instance = new();

        public void Dispose() { }
    }

    public long StartRun(string sync, string trigger, bool full, DateTime at) => db.InTransaction(d =>
        d.GetCollection(Runs, BsonAutoId.Int64).Insert(new BsonDocument
        {
            ["sync"] = sync, ["trigger"] = trigger, ["status"] = SyncRunStatus.Running, ["full"] = full, ["started"] = at,
        }).AsInt64);

    public void FinishRun(SyncRunReport report, int keepPerSync) => db.InTransaction(d =>
    {
        var col = d.GetCollection(Runs, BsonAutoId.Int64);
        col.Upsert(ActivationBson.ToBson(report));
        var old = col.Query().Where("sync = @0", report.Sync).OrderByDescending("_id").Select((BsonExpression)"{_id}").Offset(keepPerSync).ToList();
        foreach (var o in old) col.Delete(o["_id"]);
    });

    public SyncRunReport? Run(long id) => db.Collection(Runs).FindById(id) is { } d ? ActivationBson.Run(d) : null;

    public IReadOnlyList<SyncRunReport> LatestRuns(string sync, int limit) =>
        db.Collection(Runs).Query().Where("sync = @0", sync).OrderByDescending("_id").Limit(limit).ToList().Select(ActivationBson.Run).ToList();

    public IReadOnlyList<SyncRunReport> AllRuns(IUnitOfWork tx) =>
        tx.Lite().GetCollection(Runs, BsonAutoId.Int64).FindAll().ToList().Select(ActivationBson.Run).ToList();

    public void ReplaceRun(IUnitOfWork tx, SyncRunReport report) => tx.Lite().GetCollection(Runs, BsonAutoId.Int64).Update(ActivationBson.ToBson(report));

    public void StageErasure(IUnitOfWork tx, ErasureReceipt receipt) => tx.Lite().GetCollection(Erasures).Upsert(ActivationBson.ToBson(receipt));

    public ErasureReceipt? Erasure(string receiptId) => db.Collection(Erasures).FindById(receiptId) is { } d ? ActivationBson.Receipt(d) : null;

    public IReadOnlyList<string> OpenErasures() =>
        db.Collection(Erasures).FindAll().Select(ActivationBson.Receipt).Where(r => r.Open).Select(r => r.Id).ToList();

    public void SaveErasure(ErasureReceipt receipt) => db.InTransaction(d => d.GetCollection(Erasures).Upsert(ActivationBson.ToBson(receipt)));

    private static (string Sync, string Profile) SplitId(string id)
    {
        var bar = id.IndexOf('|');
        return (id[..bar], id[(bar + 1)..]);
    }

    public IEnumerable<(string Sync, string Profile, MemberRecord Record)> AllMembers() =>
        db.Collection(MembersCollection).FindAll().Select(d => { var (sync, profile) = SplitId(d["_id"].AsString); return (sync, profile, Record(d)); });

    public IEnumerable<(string Sync, string Profile, string Key)> AllDeparted() =>
        db.Collection(Departed).FindAll().Select(d => { var (sync, profile) = SplitId(d["_id"].AsString); return (sync, profile, d["k"].AsString); });

    public IEnumerable<(string Sync, string Name, string Value)> AllRemote() =>
        db.Collection(Syncs).FindAll().SelectMany(d => d.Where(f => f.Key != "_id" && f.Value.IsString).Select(f => (d["_id"].AsString, f.Key, f.Value.AsString)));

    public IEnumerable<ErasureReceipt> AllErasures() => db.Collection(Erasures).FindAll().Select(ActivationBson.Receipt);

    public void Import(ActivationImport records) => db.InTransaction(d =>
    {
        var members = d.GetCollection(MembersCollection, BsonAutoId.Int64);
        foreach (var (sync, profile, r) in records.Members) members.Upsert(MemberDocument(Id(sync, profile), r));
        var departed = d.GetCollection(Departed, BsonAutoId.Int64);
        foreach (var (sync, profile, key) in records.Departed) departed.Upsert(new BsonDocument { ["_id"] = Id(sync, profile), ["k"] = key });
        var syncs = d.GetCollection(Syncs, BsonAutoId.Int64);
        foreach (var (sync, name, value) in records.Remote)
        {
            var doc = syncs.FindById(sync) ?? new BsonDocument { ["_id"] = sync };
            doc[name] = value;
            syncs.Upsert(doc);
        }
        var runs = d.GetCollection(Runs, BsonAutoId.Int64);
        foreach (var run in records.Runs) runs.Upsert(ActivationBson.ToBson(run));
        var erasures = d.GetCollection(Erasures);
        foreach (var receipt in records.Erasures) erasures.Upsert(ActivationBson.ToBson(receipt));
    });
}

/// <summary>Activation's LiteDB documents (field names as they have always been stored).</summary>
internal static class ActivationBson
{
    public static BsonDocument ToBson(SyncRunReport r)
    {
        var c = r.Counts;
        return new BsonDocument
        {
            ["_id"] = r.Id, ["sync"] = r.Sync, ["trigger"] = r.Trigger, ["status"] = r.Status, ["full"] = r.Full,
            ["started"] = r.StartedAt, ["finished"] = r.FinishedAt.HasValue ? r.FinishedAt.Value : BsonValue.Null, ["seconds"] = r.DurationSeconds,
            ["counts"] = new BsonDocument
            {
                ["members"] = c.Members, ["eligible"] = c.Eligible, ["added"] = c.Added, ["updated"] = c.Updated, ["removed"] = c.Removed,
                ["retried"] = c.Retried, ["unchanged"] = c.Unchanged, ["rejected"] = c.Rejected, ["noConsent"] = c.SkippedNoConsent,
                ["noIdentifier"] = c.SkippedNoIdentifier, ["duplicate"] = c.SkippedDuplicateIdentifier, ["batches"] = c.Batches,
                ["unsubscribed"] = c.Unsubscribed,
            },
            ["stopped"] = r.StoppedBecause is null ? BsonValue.Null : new BsonValue(r.StoppedBecause),
            ["errors"] = new BsonArray(r.Errors.Select(e => new BsonValue(e))),
            ["samples"] = new BsonArray(r.Samples.Select(s => (BsonValue)new BsonDocument
            {
                ["action"] = s.Action, ["profile"] = s.ProfileId, ["key"] = s.Identifier,
                ["fields"] = new BsonDocument(s.Fields.ToDictionary(f => f.Key, f => f.Value is null ? BsonValue.Null : new BsonValue(f.Value))),
            })),
            ["payload"] = r.FirstPayload is null ? BsonValue.Null : new BsonValue(r.FirstPayload),
        };
    }

    /// <summary>A run still running has only its start fields: the rest reads as empty.</summary>
    public static SyncRunReport Run(BsonDocument d)
    {
        var c = d["counts"].IsDocument ? d["counts"].AsDocument : new BsonDocument();
        long N(string k) => c[k].IsNumber ? c[k].AsInt64 : 0;
        return new SyncRunReport(
            d["_id"].AsInt64, d["sync"].AsString, d["trigger"].AsString, d["status"].AsString, d["full"].AsBoolean,
            d["started"].AsDateTime.ToUniversalTime(), d["finished"].IsDateTime ? d["finished"].AsDateTime.ToUniversalTime() : null,
            d["seconds"].IsNumber ? d["seconds"].AsDouble : 0,
            new SyncCounts(N("members"), N("eligible"), N("added"), N("updated"), N("removed"), N("retried"), N("unchanged"), N("rejected"),
                N("noConsent"), N("noIdentifier"), N("duplicate"), N("batches"), N("unsubscribed")),
            d["stopped"].IsString ? d["stopped"].AsString : null,
            d["errors"].IsArray ? d["errors"].AsArray.Select(e => e.AsString).ToList() : [],
            d["samples"].IsArray
                ? d["samples"].AsArray.Select(s => new SyncSampleRow(s["action"].AsString, s["profile"].AsString, s["key"].AsString,
                    s["fields"].AsDocument.ToDictionary(f => f.Key, f => f.Value.IsNull ? null : f.Value.AsString))).ToList()
                : [],
            d["payload"].IsString ? d["payload"].AsString : null);
    }

    public static BsonDocument ToBson(ErasureReceipt r) => new()
    {
        ["_id"] = r.Id, ["at"] = r.At,
        ["destinations"] = new BsonArray(r.Destinations.Select(e =>
        {
            var d = new BsonDocument
            {
                ["destination"] = e.Destination, ["type"] = e.Type, ["status"] = e.Status, ["attempts"] = e.Attempts, ["next"] = e.Next,
                ["syncs"] = Strings(e.Syncs), ["keys"] = Strings(e.Keys), ["profiles"] = Strings(e.Profiles),
            };
            if (e.Done is { } done) d["done"] = done;
            if (e.Detail is not null) d["detail"] = e.Detail;
            if (e.Error is not null) d["error"] = e.Error;
            if (e.Files is not null) d["files"] = Strings(e.Files);
            if (e.Remote is { } remote) d["remote"] = new BsonDocument { ["host"] = remote.Host, ["folder"] = remote.Folder, ["files"] = Strings(remote.Files) };
            return (BsonValue)d;
        })),
    };

    public static ErasureReceipt Receipt(BsonDocument doc)
    {
        var entries = doc["destinations"].IsArray ? doc["destinations"].AsArray.Where(e => e.IsDocument).Select(e => e.AsDocument) : [];
        return new ErasureReceipt(doc["_id"].AsString, doc["at"].IsDateTime ? doc["at"].AsDateTime.ToUniversalTime() : default, entries.Select(e => new ErasureEntry
        {
            Destination = e["destination"].AsString, Type = e["type"].AsString, Status = e["status"].AsString, Attempts = e["attempts"].AsInt32,
            Next = e["next"].AsDateTime.ToUniversalTime(), Syncs = List(e["syncs"]), Keys = List(e["keys"]), Profiles = List(e["profiles"]),
            Done = e["done"].IsDateTime ? e["done"].AsDateTime.ToUniversalTime() : null,
            Detail = e["detail"].IsString ? e["detail"].AsString : null,
            Error = e["error"].IsString ? e["error"].AsString : null,
            Files = e["files"].IsArray ? List(e["files"]) : null,
            Remote = e["remote"].IsDocument ? new RemoteCopies(e["remote"]["host"].AsString, e["remote"]["folder"].AsString, List(e["remote"]["files"])) : null,
        }).ToList());
    }

    private static BsonArray Strings(IEnumerable<string> values) => new(values.Select(v => new BsonValue(v)));

    private static List<string> List(BsonValue v) => v.IsArray ? v.AsArray.Select(x => x.AsString).ToList() : [];
}
