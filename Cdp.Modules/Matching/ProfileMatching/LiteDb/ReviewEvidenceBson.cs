using Cdp.Modules.Identity.Contracts;
using LiteDB;

namespace Cdp.Modules.Matching.ProfileMatching.LiteDb;

/// <summary>
/// How a review item keeps its comparisons in LiteDB: an evidence document ({p, w, by, c: [{n, lv, wt, a, b}]}) with the
/// field names Identity uses for its merge records, so both read alike in a dump; Matching owns this format.
/// </summary>
internal static class ReviewEvidenceBson
{
    public static BsonDocument ToBson(double probability, double matchWeight, IReadOnlyList<MatchComparison> comparisons) => new()
    {
        ["p"] = probability, ["w"] = matchWeight, ["by"] = "review",
        ["c"] = new BsonArray(comparisons.Select(c => (BsonValue)new BsonDocument
        {
            ["n"] = c.Name, ["lv"] = c.Level, ["wt"] = c.Weight, ["a"] = c.Left is null ? BsonValue.Null : c.Left, ["b"] = c.Right is null ? BsonValue.Null : c.Right,
        })),
    };

    public static IReadOnlyList<MatchComparison> Comparisons(BsonDocument evidence) =>
        evidence["c"].AsArray.Select(x => x.AsDocument).Select(c => new MatchComparison(c["n"].AsString, c["lv"].AsString, c["wt"].AsDouble,
            c["a"].IsNull ? null : c["a"].AsString, c["b"].IsNull ? null : c["b"].AsString)).ToList();
}
