using System.Text.Json;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Matching.Engine;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Matching.Contracts;
using JsonSerializer = System.Text.Json.JsonSerializer;

namespace Cdp.Modules.Matching.ProfileMatching;

/// <summary>
/// What matching keeps between runs: the trained model (m, u, prior) so that runs score alike until someone retrains,
/// and the run reports (newest <see cref="KeptRuns"/>).
/// </summary>
[Service]
internal sealed class MatchingStore(IMatchingStore store)
{
    /// <summary>Run reports kept; older ones are deleted after each run.</summary>
    public const int KeptRuns = 200;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The stored model when it was trained for these comparisons (same fields, levels, normalisation), else null.</summary>
    public MatchModel? LoadModel(ComparisonPlan plan)
    {
        var stored = store.Model();
        if (stored is null || stored.Fingerprint != Fingerprint(plan)) return null;
        return new MatchModel(plan, stored.Lambda, stored.M, stored.U, []);
    }

    public void SaveModel(MatchModel model, int profiles, long candidatePairs) =>
        store.SaveModel(new StoredModel(Fingerprint(model.Plan), model.Lambda, model.M, model.U, DateTime.UtcNow, profiles, candidatePairs));

    /// <summary>The comparisons as the model sees them: a model trained under other comparisons is not used.</summary>
    public static string Fingerprint(ComparisonPlan plan) => string.Join("|", plan.Comparisons.Select(c =>
        $"{c.Name}/{c.Field}/{c.Kind}/{c.TermFrequency}/{string.Join(",", c.Levels.Select(l => l.Label))}"));

    public void SaveRun(MatchRunReport report) => store.SaveRun(report.Id, report.StartedAt, JsonSerializer.Serialize(report, Json), KeptRuns);

    public IReadOnlyList<MatchRunReport> RecentRuns(int take) =>
        store.RecentRuns(take).Select(json => JsonSerializer.Deserialize<MatchRunReport>(json, Json)!).ToList();
}
