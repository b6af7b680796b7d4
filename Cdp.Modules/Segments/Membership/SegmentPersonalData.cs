using System.Globalization;
using System.Text.Json.Nodes;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Segments.Membership;

/// <summary>Segments' part of a person: current memberships (member collections and counts), event counters, membership history.</summary>
[Service]
internal sealed class SegmentPersonalData(SegmentCatalogue catalogue, ISegmentStore store, TimeProvider clock, StoredSegmentStates stored) : IPersonalDataHolder
{
    public string Section => "segments";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, IUnitOfWork tx)
    {
        var db = store.Lock(tx, clock.GetUtcNow().UtcDateTime); // first: see ISegmentStore.Lock
        stored.OtherWriter();
        var set = catalogue.EnsureLoaded(db);
        var live = db.Live();
        long memberships = 0;
        foreach (var segment in set.Ordered)
        foreach (var id in subject.ProfileIds)
        {
            if (!db.RemoveMember(segment.No, id)) continue;
            memberships++;
            if (live.Counts.TryGetValue(segment.No, out var c)) live.Counts[segment.No] = Math.Max(0, c - 1);
        }
        if (memberships > 0) db.SaveLive(live);
        foreach (var no in subject.ProfileNumbers) db.DeleteState(no);
        var history = db.DeleteHistoryOf(subject.ProfileNumbers.ToList());
        return new Dictionary<string, long> { ["memberships"] = memberships, ["membershipHistory"] = history };
    }

    public JsonNode? Export(PersonalDataSubject subject)
    {
        var set = catalogue.Current;
        var current = new JsonArray();
        foreach (var segment in set.Ordered)
        {
            foreach (var id in subject.ProfileIds)
                if (store.MemberSince(segment.No, id) is { } since)
                    current.Add(new JsonObject { ["segment"] = segment.Key, ["name"] = segment.Name, ["since"] = since });
        }
        var history = new JsonArray();
        foreach (var h in store.HistoryOf(subject.ProfileNumbers.ToList()))
            history.Add(new JsonObject
            {
                ["segment"] = h.Key, ["entered"] = h.Entered, ["at"] = h.At,
                ["cause"] = h.Cause, ["profile"] = "p_" + h.Profile.ToString(CultureInfo.InvariantCulture),
            });
        return new JsonObject { ["memberships"] = current, ["history"] = history };
    }
}
