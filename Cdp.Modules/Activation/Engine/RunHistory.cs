using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Activation.Engine;

/// <summary>Run history in LiteDB (activation_runs): one document per run, written when it starts and when it ends.</summary>
[Service]
internal sealed class RunHistory
{
    private const string Runs = "activation_runs";

    /// <summary>Runs kept per sync: the oldest beyond this are deleted when a run ends.</summary>
    public const int KeptPerSync = 200;

    private readonly CdpDatabase _db;

    /// <summary>What a run left "running" by a killed process says after the restart.</summary>
    public const string Interrupted = "interrupted: the process stopped during this run (crash or kill); the next run sends what the destination had not acknowledged";

    public RunHistory(CdpDatabase db)
    {
        _db = db;
        db.InTransaction(d => d.GetCollection(Runs, BsonAutoId.Int64).EnsureIndex("sync", "$.sync"));
        MarkInterrupted();
    }

    /// <summary>
    /// Runs happen only inside the process that owns the file, so a run still "running" when this process opens the history
    /// was cut short by a crash or a kill: it is recorded as failed, with the reason.
    /// </summary>
    private void MarkInterrupted() => _db.InTransaction(d =>
    {
        var col = d.GetCollection(Runs, BsonAutoId.Int64);
        foreach (var run in col.Find(Filter.EQ("status", SyncRunStatus.Running)).ToList())
        {
            run["status"] = SyncRunStatus.Failed;
            run["stopped"] = Interrupted;
            col.Update(run);
        }
    });

    public long Start(string sync, string trigger, bool full, DateTime at) => _db.InTransaction(d =>
        d.GetCollection(Runs, BsonAutoId.Int64).Insert(new BsonDocument
        {
            ["sync"] = sync, ["trigger"] = trigger, ["status"] = SyncRunStatus.Running, ["full"] = full, ["started"] = at,
        }).AsInt64);

    public void Finish(SyncRunReport report) => _db.InTransaction(d =>
    {
        var col = d.GetCollection(Runs, BsonAutoId.Int64);
        col.Upsert(ToBson(report));
        var old = col.Query().Where("sync = @0", report.Sync).OrderByDescending("_id").Select((BsonExpression)"{_id}").Offset(KeptPerSync).ToList();
        foreach (var o in old) col.Delete(o["_id"]);
    });

    /// <summary>
    /// Privacy erasure, inside the caller's transaction: every trace of the person leaves run history. Sample rows of their
    /// profiles or addresses go whole (names and all); in a stored first payload (a dry run's JSON for a vendor or webhook, or its
    /// CSV preview) every member entry holding one of their addresses or profile ids goes whole, and any address left elsewhere
    /// (error messages, payload text) is blanked. Returns the runs changed.
    /// </summary>
    public static long Scrub(LiteDatabase d, IReadOnlySet<string> profileIds, IReadOnlyList<string> values)
    {
        var col = d.GetCollection(Runs, BsonAutoId.Int64);
        var person = new HashSet<string>(values.Where(v => v.Length > 0), StringComparer.OrdinalIgnoreCase);
        person.UnionWith(profileIds);
        long changed = 0;
        foreach (var run in col.FindAll().ToList())
        {
            var touched = false;
            if (run["samples"].IsArray)
            {
                var samples = run["samples"].AsArray;
                for (var i = samples.Count - 1; i >= 0; i--)
                    if (profileIds.Contains(samples[i]["profile"].AsString) || (samples[i]["key"].IsString && person.Contains(samples[i]["key"].AsString)))
                    {
                        samples.RemoveAt(i);
                        touched = true;
                    }
            }
            if (run["errors"].IsArray)
            {
                var errors = run["errors"].AsArray;
                for (var i = 0; i < errors.Count; i++)
                    if (Blank(errors[i].AsString, values) is { } blanked) { errors[i] = blanked; touched = true; }
            }
            if (run["payload"].IsString && PayloadScrub.Without(run["payload"].AsString, person) is { } withoutMembers)
            {
                run["payload"] = withoutMembers;
                touched = true;
            }
            if (run["payload"].IsString && Blank(run["payload"].AsString, values) is { } payload) { run["payload"] = payload; touched = true; }
            if (!touched) continue;
            col.Update(run);
            changed++;
        }
        return changed;
    }

    private static string? Blank(string text, IReadOnlyList<string> values)
    {
        var result = text;
        foreach (var v in values)
            if (v.Length >= 3 && result.Contains(v, StringComparison.OrdinalIgnoreCase)) result = result.Replace(v, SyncEngine.ErasedPerson, StringComparison.OrdinalIgnoreCase);
        return ReferenceEquals(result, text) ? null : result;
    }

    public SyncRunReport? Get(long id) => _db.Collection(Runs).FindById(id) is { } d ? FromBson(d) : null;

    public IReadOnlyList<SyncRunReport> Latest(string sync, int limit) =>
        _db.Collection(Runs).Query().Where("sync = @0", sync).OrderByDescending("_id").Limit(limit).ToList().Select(FromBson).ToList();

    private static BsonDocument ToBson(SyncRunReport r)
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

    private static SyncRunReport FromBson(BsonDocument d)
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
}
