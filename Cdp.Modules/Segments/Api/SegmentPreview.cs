using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Evaluation;
using Cdp.Modules.Segments.Language;
using Cdp.Modules.Segments.Membership;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cdp.Modules.Identity.Contracts;

namespace Cdp.Modules.Segments.Api;

/// <param name="Names">A readable name for each profile id listed in the samples (name, first + last name, or email), when its traits have one.</param>
/// <param name="Warnings">Track events or event properties the draft names that no source's tracking plan has; absent when none.</param>
internal sealed record PreviewResult(long Count, IReadOnlyList<string> Sample, long Added, long Removed,
    IReadOnlyList<string> AddedSample, IReadOnlyList<string> RemovedSample, long Profiles, string? ComparedWith,
    IReadOnlyDictionary<string, string> Names,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Warnings = null);

/// <summary>
/// Evaluates a draft condition over every profile without saving anything: the count, a sample of members and the
/// difference with the live definition's members. Counters the live segments keep are reused; a condition nobody
/// counts yet is counted from the profile's events (slower, but exact).
/// </summary>
[Service]
internal sealed class SegmentPreview(ISegmentStore db, SegmentCatalogue catalogue, IProfileReader profiles, TimeProvider clock)
{
    /// <summary>Differences listed by name; the totals are always exact.</summary>
    private const int DiffSample = 50;

    public PreviewResult Run(Condition draft, CompiledSegment? live, int sampleSize)
    {
        var set = catalogue.Current;
        var today = Days.Of(clock.GetUtcNow().UtcDateTime);
        var kept = db.KeptCounters();
        var draftCounters = SegmentRules.Events(draft).GroupBy(e => e.CounterId)
            .Select(g => new CounterSpec(g.Key, g.First(), g.Max(e => e.Window.Retention))).ToList();
        var recount = draftCounters.Where(c => !kept.TryGetValue(c.Id, out var r) || r < c.RetentionDays).ToList();
        var readsProfile = SegmentRules.ReadsProfile(draft);
        var sample = new List<string>();
        var added = new List<string>();
        var removed = new List<string>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        long count = 0, addedCount = 0, removedCount = 0, seen = 0;
        long after = 0;
        while (true)
        {
            var page = profiles.ListAfter(after, SegmentEvaluation.PageSize);
            if (page.Count == 0) break;
            var numbers = page.Select(p => ProfileIds.TryParse(p.Id, out var n) ? n : 0).ToList();
            var states = db.States(numbers[0], numbers[^1]);
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
                    if (sample.Count < sampleSize) Listed(sample, page[i]);
                }
                if (live is null) continue;
                if (inDraft && !inLive && addedCount++ < DiffSample) Listed(added, page[i]);
                if (!inDraft && inLive && removedCount++ < DiffSample) Listed(removed, page[i]);
            }
            after = numbers[^1];
        }
        return new PreviewResult(count, sample, addedCount, removedCount, added, removed, seen, live?.Key, names);

        void Listed(List<string> list, ProfileView profile)
        {
            list.Add(profile.Id);
            if (ReadableName(profile.Traits) is { } name) names[profile.Id] = name;
        }
    }

    /// <summary>
    /// The name a person is shown by: traits.name, else first and last name (snake or camel case), else email; null when
    /// none is a non-blank string (a number or an object where a name should be is not shown).
    /// </summary>
    internal static string? ReadableName(JsonElement traits)
    {
        if (traits.ValueKind != JsonValueKind.Object) return null;
        if (Text(traits, "name") is { } name) return name;
        var full = string.Join(' ', new[] { Text(traits, "first_name") ?? Text(traits, "firstName"), Text(traits, "last_name") ?? Text(traits, "lastName") }
            .Where(p => p is not null));
        return full.Length > 0 ? full : Text(traits, "email");
    }

    private static string? Text(JsonElement traits, string key) =>
        traits.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { } t && !string.IsNullOrWhiteSpace(t)
            ? (t.Length > MaxNameLength ? t[..MaxNameLength] + "…" : t)
            : null;

    /// <summary>A name longer than this is cut: it is a label in a list, and traits may hold long strings.</summary>
    private const int MaxNameLength = 120;

    private void Recount(ProfileSegmentState state, string profileId, List<CounterSpec> specs, int today)
    {
        foreach (var c in specs) state.Counters.Remove(c.Id);
        MembershipWrite.CountInto(state, profiles.Events(profileId), specs, today);
    }
}
