using System.Text.Json.Nodes;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;

namespace Cdp.Modules.Identity.Graph;

/// <summary>The identity graph's part of a person: identity nodes, identifier keys, merge records, quarantine entries.</summary>
[Service]
internal sealed class IdentityPersonalData(IdentityGraph graph, IIdentityDirectory directory) : IPersonalDataHolder
{
    public string Section => "identity";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, IUnitOfWork tx)
    {
        var db = tx.Lite();
        var nodes = db.GetCollection(IdentitySchema.Nodes);
        var keys = db.GetCollection(IdentitySchema.Keys);
        var merges = db.GetCollection(IdentitySchema.Merges);
        var quarantine = db.GetCollection(IdentitySchema.Quarantine);
        long identifiers = 0, mergeRecords = 0, quarantined = 0;
        var mergeIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var profile in subject.ProfileNumbers)
        {
            if (nodes.FindById(profile) is { } d && !d.ContainsKey("into"))
                foreach (var m in IdentityNode.FromBson(d).MergeIds) mergeIds.Add(m);
            nodes.Delete(profile);
            if (quarantine.Delete("profile:" + profile)) quarantined++;
        }
        foreach (var key in subject.Identifiers)
        {
            if (keys.Delete(key)) identifiers++;
            db.GetCollection(IdentitySchema.Carriers).Delete(IdentitySchema.HashId(IdentitySchema.Hash(key)));
            if (quarantine.Delete("key:" + key)) quarantined++;
        }
        foreach (var m in mergeIds) if (merges.Delete(m)) mergeRecords++;
        var erased = new Dictionary<string, long> { ["identifiers"] = identifiers, ["mergeRecords"] = mergeRecords };
        if (quarantined > 0) erased["quarantineEntries"] = quarantined;
        return erased;
    }

    public void Erased(PersonalDataSubject subject) => graph.Forget(subject.Identifiers, subject.ProfileNumbers);

    public JsonNode? Export(PersonalDataSubject subject)
    {
        var identity = directory.Get(subject.Profile);
        return new JsonObject
        {
            ["identifiers"] = new JsonArray((identity?.Identifiers ?? []).Select(i => (JsonNode)new JsonObject
            {
                ["type"] = i.Type, ["value"] = i.Value, ["firstSeen"] = i.FirstSeen, ["lastSeen"] = i.LastSeen, ["quarantined"] = i.Quarantined,
            }).ToArray()),
            ["mergedProfiles"] = new JsonArray((identity?.Absorbed ?? []).Select(a => (JsonNode)JsonValue.Create("p_" + a)).ToArray()),
            ["quarantine"] = identity?.Quarantine,
            ["mergeRecords"] = new JsonArray(directory.MergeHistory(subject.Profile).Select(m => (JsonNode)new JsonObject
            {
                ["id"] = m.Id, ["winner"] = "p_" + m.Winner, ["loser"] = "p_" + m.Loser, ["rule"] = m.Rule,
                ["joiningIdentifier"] = m.JoiningIdentifier, ["matchedIdentifier"] = m.MatchedIdentifier,
                ["sequence"] = m.Sequence, ["source"] = m.Source, ["messageId"] = m.MessageId, ["at"] = m.At,
            }).ToArray()),
        };
    }
}
