using System.Text.Json.Nodes;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;
using JsonSerializer = System.Text.Json.JsonSerializer;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>The profile projection's part of a person: the profile (traits, computed traits, consent, counters), merged-away tombstones, timeline chunks.</summary>
[Service]
internal sealed class ProfilePersonalData(ProfileReader reader, IProfileStore store) : IPersonalDataHolder
{
    public string Section => "profile";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, IUnitOfWork tx)
    {
        var (live, mergedAway) = store.Erase(tx, subject.ProfileNumbers.ToList());
        var erased = new Dictionary<string, long> { ["profiles"] = live };
        if (mergedAway > 0) erased["mergedAwayProfiles"] = mergedAway;
        return erased;
    }

    public JsonNode? Export(PersonalDataSubject subject)
    {
        var state = reader.Load(subject.Profile);
        if (state is null) return null;
        var v = reader.View(state);
        return new JsonObject
        {
            ["id"] = v.Id,
            ["firstSeen"] = v.FirstSeen,
            ["lastSeen"] = v.LastSeen,
            ["events"] = v.EventCount,
            ["traits"] = JsonNode.Parse(v.Traits.GetRawText()),
            ["computedTraits"] = JsonNode.Parse(v.ComputedTraits.GetRawText()),
            ["consent"] = ConsentJson(v),
            ["eventTypes"] = JsonSerializer.SerializeToNode(v.EventTypeCounts),
            ["trackEvents"] = JsonSerializer.SerializeToNode(v.TrackEventCounts),
            ["sources"] = JsonSerializer.SerializeToNode(v.Sources.ToDictionary(s => s.Key, s => new { firstSeen = s.Value.FirstSeen, lastSeen = s.Value.LastSeen, events = s.Value.Events })),
            ["groups"] = JsonSerializer.SerializeToNode(v.Groups),
            ["skipped"] = SkippedJson(v.Skipped),
            ["survivorshipCandidates"] = CandidatesJson(state.Survivors),
        };
    }

    /// <summary>
    /// Every value the survivorship rules hold for the profile, winners and losers alike (personal data like the traits):
    /// <c>{ "trait.path": [ { value, count, lastSeen, source, sequence } ] }</c>. They live in the profile document, so the
    /// erasure above deletes them with it.
    /// </summary>
    public static JsonObject CandidatesJson(TreeDocument survivors)
    {
        var o = new JsonObject();
        void Walk(TreeDocument d, string prefix)
        {
            foreach (var (name, value) in d)
            {
                var path = prefix.Length == 0 ? name : prefix + "." + name;
                if (value.IsDocument) Walk(value.AsDocument, path);
                else if (value.IsArray)
                    o[path] = new JsonArray(value.AsArray.Select(TraitCandidate.From).Select(c => (JsonNode)new JsonObject
                    {
                        ["value"] = Api.TreeJson.ToNode(c.Value), ["count"] = c.Count, ["lastSeen"] = new DateTime(c.Ticks, DateTimeKind.Utc),
                        ["source"] = c.Source, ["sequence"] = c.Sequence,
                    }).ToArray());
            }
        }
        Walk(survivors, "");
        return o;
    }

    /// <summary>The values a profile did not take: <c>{ "counts": { field: n }, "recent": [ { sequence, field, reason } ] }</c>.</summary>
    public static JsonObject SkippedJson(ProfileSkips skipped) => new()
    {
        ["counts"] = new JsonObject(skipped.Counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value))),
        ["recent"] = new JsonArray(skipped.Recent.Select(r => (JsonNode)new JsonObject { ["sequence"] = r.Sequence, ["field"] = r.Field, ["reason"] = r.Reason }).ToArray()),
    };

    public static JsonObject ConsentJson(ProfileView v)
    {
        var o = new JsonObject();
        foreach (var (purpose, c) in v.Consent.OrderBy(c => c.Key, StringComparer.Ordinal))
            o[purpose] = new JsonObject { ["granted"] = c.Granted, ["at"] = c.At, ["source"] = c.Source, ["via"] = c.Via };
        return o;
    }
}
