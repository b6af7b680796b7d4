using System.Text.Json;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Matching.Engine;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;
using Cdp.Modules.Matching.Contracts;
using JsonSerializer = System.Text.Json.JsonSerializer;

namespace Cdp.Modules.Matching.ProfileMatching;

/// <summary>
/// What matching keeps between runs (collection identity_matching): the trained model (m, u, prior) so that runs
/// score alike until someone retrains, and the run checkpoint (last journal document consumed); plus the run reports
/// (identity_match_runs, newest <see cref="KeptRuns"/>).
/// </summary>
[Service]
internal sealed class MatchingStore(CdpDatabase db)
{
    private const string Collection = "identity_matching";
    private const string Runs = "identity_match_runs";
    private const string ModelId = "model";
    private const string StateId = "state";

    /// <summary>Run reports kept; older ones are deleted after each run.</summary>
    public const int KeptRuns = 200;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The stored model when it was trained for these comparisons (same fields, levels, normalisation), else null.</summary>
    public MatchModel? LoadModel(ComparisonPlan plan)
    {
        var d = db.Collection(Collection).FindById(ModelId);
        if (d is null || d["fp"].AsString != Fingerprint(plan)) return null;
        var m = d["m"].AsArray.Select(a => a.AsArray.Select(x => x.AsDouble).ToArray()).ToArray();
        var u = d["u"].AsArray.Select(a => a.AsArray.Select(x => x.AsDouble).ToArray()).ToArray();
        return new MatchModel(plan, d["lambda"].AsDouble, m, u, []);
    }

    public void SaveModel(MatchModel model, int profiles, long candidatePairs) => db.InTransaction(d => d.GetCollection(Collection, BsonAutoId.Int64).Upsert(new BsonDocument
    {
        ["_id"] = ModelId,
        ["fp"] = Fingerprint(model.Plan),
        ["lambda"] = model.Lambda,
        ["m"] = new BsonArray(model.M.Select(c => (BsonValue)new BsonArray(c.Select(x => new BsonValue(x))))),
        ["u"] = new BsonArray(model.U.Select(c => (BsonValue)new BsonArray(c.Select(x => new BsonValue(x))))),
        ["at"] = DateTime.UtcNow,
        ["profiles"] = profiles,
        ["pairs"] = candidatePairs,
    }));

    /// <summary>The comparisons as the model sees them: a model trained under other comparisons is not used.</summary>
    public static string Fingerprint(ComparisonPlan plan) => string.Join("|", plan.Comparisons.Select(c =>
        $"{c.Name}/{c.Field}/{c.Kind}/{c.TermFrequency}/{string.Join(",", c.Levels.Select(l => l.Label))}"));

    /// <summary>The last journal document the previous successful run consumed.</summary>
    public long JournalCheckpoint => db.Collection(Collection).FindById(StateId)?["journal"].AsInt64 ?? 0;

    /// <summary>Inside the reprocess transaction (see <see cref="MatchingJournal.OnReset"/>).</summary>
    public static void ResetJournalCheckpoint(LiteDatabase database) => database.GetCollection(Collection, BsonAutoId.Int64).Delete(StateId);

    public void SaveJournalCheckpoint(long journal) =>
        db.InTransaction(d => d.GetCollection(Collection, BsonAutoId.Int64).Upsert(new BsonDocument { ["_id"] = StateId, ["journal"] = journal, ["at"] = DateTime.UtcNow }));

    public void SaveRun(MatchRunReport report)
    {
        var json = JsonSerializer.Serialize(report, Json);
        db.InTransaction(d =>
        {
            var runs = d.GetCollection(Runs, BsonAutoId.Int64);
            runs.Upsert(new BsonDocument { ["_id"] = report.Id, ["at"] = report.StartedAt, ["json"] = json });
            var old = runs.Query().OrderByDescending("$.at").Offset(KeptRuns).ToList().Select(r => r["_id"]).ToList();
            foreach (var id in old) runs.Delete(id);
        });
    }

    public IReadOnlyList<MatchRunReport> RecentRuns(int take) =>
        db.Collection(Runs).Query().OrderByDescending("$.at").Limit(take).ToList()
            .Select(d => JsonSerializer.Deserialize<MatchRunReport>(d["json"].AsString, Json)!).ToList();
}
