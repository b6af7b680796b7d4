using System.Text.Json.Nodes;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Matching.ProfileMatching;

/// <summary>
/// Matching's part of a person: review-queue pairs and probabilistic merge decisions (links) that involve any of the
/// person's profiles. Both carry compared values (names, streets...), so an erasure deletes them; the journal holds
/// profile numbers only and is left to the next run.
/// </summary>
[Service]
internal sealed class MatchingPersonalData(IMatchingStore store, IMatchDecisions decisions) : IPersonalDataHolder
{
    public string Section => "matching";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, IUnitOfWork tx)
    {
        var mine = subject.ProfileNumbers.ToHashSet();
        return new Dictionary<string, long>
        {
            ["reviewPairs"] = store.DeleteReviewsInvolving(tx, mine),
            ["matchDecisions"] = decisions.EraseInvolving(mine, tx),
        };
    }

    public JsonNode? Export(PersonalDataSubject subject)
    {
        var mine = subject.ProfileNumbers.ToHashSet();
        var review = store.ReviewsInvolving(mine)
            .Select(i => (JsonNode)new JsonObject
            {
                ["id"] = i.Id, ["status"] = i.Status, ["left"] = "p_" + i.Left, ["right"] = "p_" + i.Right, ["score"] = i.Probability,
                ["createdAt"] = i.CreatedAt, ["decidedAt"] = i.DecidedAt, ["reason"] = i.Reason, ["comparisons"] = Comparisons(i.Comparisons),
            }).ToArray();
        var links = decisions.Involving(mine)
            .Select(l => (JsonNode)new JsonObject
            {
                ["id"] = l.Id, ["status"] = l.Status, ["left"] = "p_" + l.Left, ["right"] = "p_" + l.Right, ["at"] = l.At,
                ["score"] = l.Evidence.Probability, ["decidedBy"] = l.Evidence.DecidedBy, ["comparisons"] = Comparisons(l.Evidence.Comparisons),
            }).ToArray();
        return new JsonObject { ["reviewPairs"] = new JsonArray(review), ["matchDecisions"] = new JsonArray(links) };
    }

    private static JsonArray Comparisons(IReadOnlyList<MatchComparison> comparisons) =>
        new(comparisons.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name, ["level"] = c.Level, ["weight"] = c.Weight, ["left"] = c.Left, ["right"] = c.Right,
        }).ToArray());
}
