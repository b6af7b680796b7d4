using System.Text.Json.Nodes;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Identity.Graph;

/// <summary>The identity graph's part of a person: identity nodes, identifier keys, merge records, quarantine entries.</summary>
[Service]
internal sealed class IdentityPersonalData(IdentityGraph graph, IIdentityDirectory directory, IIdentityStore store) : IPersonalDataHolder
{
    public string Section => "identity";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, IUnitOfWork tx)
    {
        var (identifiers, mergeRecords, quarantined) = store.Erase(tx, subject.ProfileNumbers.ToList(), subject.Identifiers.ToList());
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
