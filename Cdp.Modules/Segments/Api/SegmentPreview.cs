using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Evaluation;
using Cdp.Modules.Segments.Language;
using Cdp.Modules.Segments.Membership;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Segments.Api;

internal sealed record PreviewResult(long Count, IReadOnlyList<string> Sample, long Added, long Removed,
    IReadOnlyList<string> AddedSample, IReadOnlyList<string> RemovedSample, long Profiles, string? ComparedWith);

/// <summary>
/// Evaluates a draft condition over every profile without saving anything: the count, a sample of members and the
/// difference with the live definition's members. Counters the live segments keep are reused; a condition nobody
/// counts yet is counted from the profile's events (slower, but exact).
/// </summary>
[Service]
internal sealed class SegmentPreview(CdpDatabase db, SegmentCatalogue catalogue, IProfileReader profiles, TimeProvider clock)
{
    /// <summary>Differences listed by name; the totals are always exact.</summary>
    private const int DiffSample = 50;

    public PreviewResult Run(Condition draft, CompiledSegment? live, int sampleSize)
    {
        var set = catalogue.Current;
        var today = Days.Of(clock.GetUtcNow().UtcDateTime);
        var kept = db.Collection(SegmentSchema.State).FindById(SegmentSchema.CountersId) ?? new BsonDocument();
        var draftCounters = SegmentRules.Events(draft).GroupBy(e => e.CounterId)
            .Select(g => new CounterSpec(g.Key, g.First(), g.Max(e => e.Window.Retention))).ToList();
        var recount = draftCounters.Where(c => !kept.TryGetValue(c.Id, out var r) || r.AsInt32 < c.RetentionDays).ToList();
        var readsProfile = SegmentRules.ReadsProfile(draft);
        var sample = new List<string>();
        var added = new List<string>();
        var removed = new List<string>();
        long count = 0, addedCount = 0, removedCount = 0, seen = 0;
        long after = 0;
        while (true)
        {
            var page = profiles.ListAfter(after, SegmentEvaluation.PageSize);
            if (page.Count == 0) break;
            var numbers = page.Select(p => ProfileIds.TryParse(p.Id, out var n) ? n : 0).ToList();
            var states = db.Collection(SegmentSchema.Profiles).Find(Filter.Between("_id", numbers[0], numbers[^1]))
                .Select(ProfileSegmentState.FromBson).ToDictionary(s => s.Profile);
            for (var i = 0; i < page.Count; i++)
            {
                seen++;
                var state = states.TryGetValue(numbers[i], out var s) ? s : new ProfileSegmentState(numbers[i]);
                if (recount.Count > 0) Recount(state, page[i].Id, recount, today);
                var input = new EvaluationInput
                {
                    Traits = readsProfile ? page[i].Traits : MembershipWrite.EmptyObject,
                    Computed = readsProfile ? page[i].ComputedTraits : MembershipWrite.EmptyObject,
                    Counters = state.Counters,
                    InSegment = key => set.ByKey.TryGetValue(key, out var d) && state.Members.Contains(d.No),
                    Today = today,
                };
                var inDraft = ConditionEvaluator.Evaluate(draft, input);
                var inLive = live is not null && state.Members.Contains(live.No);
                if (inDraft)
                {
                    count++;
                    if (sample.Count < sampleSize) sample.Add(page[i].Id);
                }
                if (live is null) continue;
                if (inDraft && !inLive && addedCount++ < DiffSample) added.Add(page[i].Id);
                if (!inDraft && inLive && removedCount++ < DiffSample) removed.Add(page[i].Id);
            }
            after = numbers[^1];
        }
        return new PreviewResult(count, sample, addedCount, removedCount, added, removed, seen, live?.Key);
    }

    private void Recount(ProfileSegmentState state, string profileId, List<CounterSpec> specs, int today)
    {
        foreach (var c in specs) state.Counters.Remove(c.Id);
        MembershipWrite.CountInto(state, profiles.Events(profileId), specs, today);
    }
}
