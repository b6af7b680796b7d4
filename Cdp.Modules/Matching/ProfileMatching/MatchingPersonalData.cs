using System.Text.Json.Nodes;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;

namespace Cdp.Modules.Matching.ProfileMatching;

/// <summary>
/// Matching's part of a person: review-queue pairs and probabilistic merge decisions (links) that involve any of the
/// person's profiles. Both carry compared values (names, streets...), so an erasure deletes them; the journal holds
/// profile numbers only and is left to the next run.
/// </summary>
[Service]
internal sealed class MatchingPersonalData(CdpDatabase db, IMatchDecisions decisions) : IPersonalDataHolder
{
    public string Section => "matching";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, IUnitOfWork tx)
    {
        var database = tx.Lite();
        var mine = subject.ProfileNumbers.ToHashSet();
        return new Dictionary<string, long>
        {
            ["reviewPairs"] = DeleteInvolving(database.GetCollection(ReviewQueue.Collection), mine),
            ["matchDecisions"] = decisions.EraseInvolving(mine, tx),
        };
    }

    /// <summary>One pass over the collection (neither side is indexed), not one query per profile number.</summary>
    private static long DeleteInvolving(ILiteCollection<BsonDocument> collection, HashSet<long> mine)
    {
        var ids = collection.FindAll().Where(d => Involves(d, mine)).Select(d => d["_id"]).ToList();
        foreach (var id in ids) collection.Delete(id);
        return ids.Count;
    }

    private static bool Involves(BsonDocument d, HashSet<long> mine) => mine.Contains(d["a"].AsInt64) || mine.Contains(d["b"].AsInt64);

    public JsonNode? Export(PersonalDataSubject subject)
    {
        var mine = subject.ProfileNumbers.ToHashSet();
        var review = db.Collection(ReviewQueue.Collection).FindAll().Where(d => Involves(d, mine)).Select(ReviewItem.FromBson)
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
