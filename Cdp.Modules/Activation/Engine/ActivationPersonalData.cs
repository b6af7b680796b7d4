using System.Text.Json.Nodes;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Activation.Engine;

/// <summary>
/// Activation's part of a person: their member state per sync (current and departed members), their rows in run history and
/// in local CSV files, and their contacts at the vendors. Erasure, in the deletion's transaction: the member records go, run
/// history loses every trace of them (samples, payload entries, addresses in errors), and the erasure at each destination they
/// were ever sent to is staged (<see cref="VendorErasures"/>); after the commit a background job makes the vendors' own
/// deletion calls and rewrites the CSV files. The receipt's "followUp.syncs" shows each destination's outcome.
/// </summary>
[Service]
internal sealed class ActivationPersonalData(
    IOptions<ActivationOptions> options,
    MemberState state,
    IActivationStore store,
    VendorErasures erasures,
    IServiceProvider services,
    TimeProvider clock,
    ILogger<ActivationPersonalData> log) : IPersonalDataHolder
{
    public string Section => "syncs";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, IUnitOfWork tx)
    {
        var ids = subject.ProfileIds.ToList();
        var (members, sent) = state.Erase(tx, options.Value.Syncs.Keys, ids);
        var values = subject.Identifiers.Select(i => i[(i.IndexOf(':') + 1)..]).Concat(sent.Select(s => s.Key)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var runs = RunHistory.Scrub(store, tx, ids.ToHashSet(StringComparer.Ordinal), values);
        var erased = new Dictionary<string, long> { ["syncMembers"] = members };
        if (runs > 0) erased["syncRunEntries"] = runs;
        if (subject.ReceiptId is { } receipt && erasures.Stage(tx, receipt, sent, ids, clock.GetUtcNow().UtcDateTime) is > 0 and var staged)
            erased["destinationErasures"] = staged;
        return erased;
    }

    public void Erased(PersonalDataSubject subject)
    {
        if (subject.ReceiptId is { } receipt) VendorErasures.Enqueue(services, receipt, log);
    }

    public JsonNode? FollowUp(string receiptId) => erasures.Status(receiptId);

    public JsonNode? Export(PersonalDataSubject subject)
    {
        var result = new JsonArray();
        var syncs = options.Value.Syncs.Keys.Order(StringComparer.Ordinal).ToList();
        foreach (var (sync, r) in state.Find(syncs, subject.ProfileIds.ToList()))
        {
            var s = options.Value.Syncs[sync];
            result.Add(new JsonObject
            {
                ["sync"] = sync, ["destination"] = s.Destination, ["segment"] = s.Segment, ["identifier"] = r.Key,
                ["atDestination"] = r.AtDestination, ["rejected"] = r.Rejected, ["reason"] = r.Reason, ["pendingRemoval"] = r.Erased,
            });
        }
        foreach (var (sync, key) in state.FindDeparted(syncs, subject.ProfileIds.ToList()))
        {
            var s = options.Value.Syncs[sync];
            result.Add(new JsonObject
            {
                ["sync"] = sync, ["destination"] = s.Destination, ["segment"] = s.Segment, ["identifier"] = key,
                ["atDestination"] = true, ["leftTheSync"] = true,
            });
        }
        return result;
    }
}
