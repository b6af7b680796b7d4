using System.Text.Json.Nodes;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using LiteDB;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Activation.Engine;

/// <summary>
/// Activation's part of a person: their member state per sync and their rows in run history. Erasure turns a member the
/// destination has into a pending removal, which the NEXT run of that sync sends (whatever the mass-removal guard says);
/// until then the destination's key (the address) is the only thing kept.
/// </summary>
[Service]
internal sealed class ActivationPersonalData(IOptions<ActivationOptions> options, MemberState state) : IPersonalDataHolder
{
    public string Section => "syncs";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, LiteDatabase db)
    {
        var ids = subject.ProfileIds.ToList();
        var members = state.Erase(db, options.Value.Syncs.Keys, ids);
        var values = subject.Identifiers.Select(i => i[(i.IndexOf(':') + 1)..]).ToList();
        var runs = RunHistory.Scrub(db, ids.ToHashSet(StringComparer.Ordinal), values);
        var erased = new Dictionary<string, long> { ["syncMembers"] = members };
        if (runs > 0) erased["syncRunEntries"] = runs;
        return erased;
    }

    public JsonNode? Export(PersonalDataSubject subject)
    {
        var result = new JsonArray();
        foreach (var (sync, r) in state.Find(options.Value.Syncs.Keys.Order(StringComparer.Ordinal), subject.ProfileIds.ToList()))
        {
            var s = options.Value.Syncs[sync];
            result.Add(new JsonObject
            {
                ["sync"] = sync, ["destination"] = s.Destination, ["segment"] = s.Segment, ["identifier"] = r.Key,
                ["atDestination"] = r.AtDestination, ["rejected"] = r.Rejected, ["reason"] = r.Reason, ["pendingRemoval"] = r.Erased,
            });
        }
        return result;
    }
}
