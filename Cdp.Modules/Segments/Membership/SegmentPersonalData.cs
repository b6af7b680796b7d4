using System.Globalization;
using System.Text.Json.Nodes;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;

namespace Cdp.Modules.Segments.Membership;

/// <summary>Segments' part of a person: current memberships (member collections and counts), event counters, membership history.</summary>
[Service]
internal sealed class SegmentPersonalData(SegmentCatalogue catalogue, CdpDatabase database, TimeProvider clock, StoredSegmentStates stored) : IPersonalDataHolder
{
    public string Section => "segments";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, IUnitOfWork tx)
    {
        var db = tx.Lite();
        SegmentSchema.Lock(db, clock.GetUtcNow().UtcDateTime); // first: see SegmentSchema.Lock
        stored.OtherWriter();
        var set = catalogue.EnsureLoaded(db);
        var state = db.GetCollection(SegmentSchema.State);
        var live = state.FindById(SegmentSchema.LiveId);
        var counts = live is not null && live.TryGetValue("n", out var n) ? n.AsDocument : null;
        long memberships = 0;
        foreach (var segment in set.Ordered)
        {
            var members = db.GetCollection(SegmentSchema.Members(segment.No));
            foreach (var id in subject.ProfileIds)
            {
                if (!members.Delete(id)) continue;
                memberships++;
                var key = segment.No.ToString(CultureInfo.InvariantCulture);
                if (counts is not null && counts.TryGetValue(key, out var c)) counts[key] = Math.Max(0, c.AsInt64 - 1);
            }
        }
        if (live is not null && memberships > 0) state.Upsert(live);
        var profiles = db.GetCollection(SegmentSchema.Profiles);
        foreach (var no in subject.ProfileNumbers) profiles.Delete(no);
        var numbers = subject.ProfileNumbers.Select(p => new BsonValue(p)).ToArray();
        // the history has no index on the profile (it would cost on every entry/exit): a scan, fine for a rare admin action
        var history = numbers.Length == 0 ? 0 : db.GetCollection(SegmentSchema.History).DeleteMany(Filter.In("p", numbers));
        return new Dictionary<string, long> { ["memberships"] = memberships, ["membershipHistory"] = history };
    }

    public JsonNode? Export(PersonalDataSubject subject)
    {
        var set = catalogue.Current;
        var current = new JsonArray();
        foreach (var segment in set.Ordered)
        {
            var members = database.Collection(SegmentSchema.Members(segment.No));
            foreach (var id in subject.ProfileIds)
                if (members.FindById(id) is { } m)
                    current.Add(new JsonObject { ["segment"] = segment.Key, ["name"] = segment.Name, ["since"] = m["at"].AsDateTime.ToUniversalTime() });
        }
        var numbers = subject.ProfileNumbers.Select(p => new BsonValue(p)).ToArray();
        var history = new JsonArray();
        if (numbers.Length > 0)
            foreach (var h in database.Collection(SegmentSchema.History).Find(Filter.In("p", numbers)).OrderBy(h => h["_id"].AsInt64).ToList())
                history.Add(new JsonObject
                {
                    ["segment"] = h["k"].AsString, ["entered"] = h["in"].AsBoolean, ["at"] = h["at"].AsDateTime.ToUniversalTime(),
                    ["cause"] = h["cause"].AsString, ["profile"] = "p_" + h["p"].AsInt64.ToString(CultureInfo.InvariantCulture),
                });
        return new JsonObject { ["memberships"] = current, ["history"] = history };
    }
}
