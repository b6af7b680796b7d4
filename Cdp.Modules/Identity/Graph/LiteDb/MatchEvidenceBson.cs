using Cdp.Modules.Identity.Contracts;
using LiteDB;

namespace Cdp.Modules.Identity.Graph.LiteDb;

/// <summary>
/// The stored form of <see cref="MatchEvidence"/> in Identity's LiteDB documents (merge records and link decisions).
/// Matching's review queue keeps the same field names in its own format (Matching/ProfileMatching/ReviewEvidenceBson).
/// </summary>
internal static class MatchEvidenceBson
{
    public static BsonDocument ToBson(MatchEvidence e)
    {
        var d = new BsonDocument
        {
            ["p"] = e.Probability, ["w"] = e.MatchWeight, ["by"] = e.DecidedBy,
            ["c"] = new BsonArray(e.Comparisons.Select(c => (BsonValue)new BsonDocument
            {
                ["n"] = c.Name, ["lv"] = c.Level, ["wt"] = c.Weight, ["a"] = c.Left is null ? BsonValue.Null : c.Left, ["b"] = c.Right is null ? BsonValue.Null : c.Right,
            })),
        };
        if (e.MemberCheck is not null) d["mc"] = e.MemberCheck; // the member guard's finding (Matching's member guard)
        return d;
    }

    public static MatchEvidence FromBson(BsonDocument d) => new(d["p"].AsDouble, d["w"].AsDouble, d["by"].AsString,
        d["c"].AsArray.Select(x => x.AsDocument).Select(c => new MatchComparison(c["n"].AsString, c["lv"].AsString, c["wt"].AsDouble,
            c["a"].IsNull ? null : c["a"].AsString, c["b"].IsNull ? null : c["b"].AsString)).ToList(),
        d.TryGetValue("mc", out var mc) && mc.IsString ? mc.AsString : null);
}
