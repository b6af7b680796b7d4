using System.Text.Json.Nodes;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Identity.Graph;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Identity.ProfileMatching;

/// <summary>
/// Matching's part of a person: review-queue pairs and probabilistic merge decisions (links) that involve any of the
/// person's profiles. Both carry compared values (names, streets...), so an erasure deletes them; the journal holds
/// profile numbers only and is left to the next run.
/// </summary>
[Service]
internal sealed class MatchingPersonalData(CdpDatabase db) : IPersonalDataHolder
{
    public string Section => "matching";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, LiteDatabase database)
    {
        var review = database.GetCollection(ReviewQueue.Collection);
        var links = database.GetCollection(IdentitySchema.Links);
        long pairs = 0, decisions = 0;
        foreach (var profile in subject.ProfileNumbers)
        {
            pairs += review.DeleteMany(Query.Or(Query.EQ("a", profile), Query.EQ("b", profile)));
            decisions += links.DeleteMany(Query.Or(Query.EQ("a", profile), Query.EQ("b", profile)));
        }
        return new Dictionary<string, long> { ["reviewPairs"] = pairs, ["matchDecisions"] = decisions };
    }

    public JsonNode? Export(PersonalDataSubject subject)
    {
        var mine = subject.ProfileNumbers.ToHashSet();
        bool Involves(BsonDocument d) => mine.Contains(d["a"].AsInt64) || mine.Contains(d["b"].AsInt64);
        var review = db.Collection(ReviewQueue.Collection).FindAll().Where(Involves).Select(ReviewItem.FromBson)
            .Select(i => (JsonNode)new JsonObject
            {
                ["id"] = i.Id, ["status"] = i.Status, ["left"] = "p_" + i.Left, ["right"] = "p_" + i.Right, ["score"] = i.Probability,
                ["createdAt"] = i.CreatedAt, ["decidedAt"] = i.DecidedAt, ["comparisons"] = Comparisons(i.Comparisons),
            }).ToArray();
        var links = db.Collection(IdentitySchema.Links).FindAll().Where(Involves).Select(LinkRecord.FromBson)
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
