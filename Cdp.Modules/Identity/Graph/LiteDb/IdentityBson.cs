using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Identity.Graph.LiteDb;

/// <summary>How the identity graph's records sit in LiteDB's documents (field names kept short: there are millions).</summary>
internal static class IdentityBson
{
    public static BsonDocument ToBson(this IdentityNode n)
    {
        var d = new BsonDocument { ["_id"] = n.Profile };
        if (n.Into != 0) { d["into"] = n.Into; return d; }
        var ids = new BsonArray();
        foreach (var i in n.Ids) ids.Add(new BsonDocument { ["k"] = i.Key, ["f"] = i.First, ["l"] = i.Last });
        d["ids"] = ids;
        if (n.Merges > 0) d["m"] = n.Merges;
        if (n.Quarantine is not null) d["q"] = n.Quarantine;
        if (n.Absorbed.Count > 0) d["ab"] = new BsonArray(n.Absorbed.Select(a => new BsonValue(a)));
        if (n.Touches.Count > 0) d["tch"] = Varint.Encode(n.Touches);
        if (n.MergeIds.Count > 0) d["mr"] = new BsonArray(n.MergeIds.Select(a => new BsonValue(a)));
        return d;
    }

    public static IdentityNode Node(BsonDocument d)
    {
        var n = new IdentityNode(d["_id"].AsInt64);
        if (d.TryGetValue("into", out var into)) { n.Into = into.AsInt64; return n; }
        foreach (var i in d["ids"].AsArray)
            n.Ids.Add(new NodeIdentifier(i["k"].AsString, i["f"].AsDateTime.ToUniversalTime(), i["l"].AsDateTime.ToUniversalTime()));
        n.Merges = d.TryGetValue("m", out var m) ? m.AsInt32 : 0;
        n.Quarantine = d.TryGetValue("q", out var q) ? q.AsString : null;
        if (d.TryGetValue("ab", out var ab)) n.Absorbed = ab.AsArray.Select(x => x.AsInt64).ToList();
        if (d.TryGetValue("tch", out var t)) n.Touches = Varint.Decode(t.AsBinary);
        if (d.TryGetValue("mr", out var mr)) n.MergeIds = mr.AsArray.Select(x => x.AsString).ToList();
        return n;
    }

    public static BsonDocument ToBson(this KeyRecord k)
    {
        var d = new BsonDocument { ["_id"] = k.Key, ["p"] = k.Profile };
        if (k.Joins > 0) d["j"] = k.Joins;
        return d;
    }

    public static KeyRecord Key(BsonDocument d) =>
        new(d["_id"].AsString, d["p"].AsInt64) { Joins = d.TryGetValue("j", out var j) ? j.AsInt32 : 0 };

    public static BsonDocument ToBson(this MergeRecord m)
    {
        var d = new BsonDocument
        {
            ["_id"] = m.Id, ["w"] = m.Winner, ["l"] = m.Loser, ["rule"] = m.Rule, ["key"] = m.JoiningIdentifier, ["via"] = m.MatchedIdentifier,
            ["seq"] = m.Sequence, ["src"] = m.Source, ["msg"] = m.MessageId, ["at"] = m.At,
        };
        if (m.Evidence is not null) d["ev"] = MatchEvidenceBson.ToBson(m.Evidence);
        return d;
    }

    public static MergeRecord Merge(BsonDocument d) => new(d["_id"].AsString, d["w"].AsInt64, d["l"].AsInt64, d["rule"].AsString,
        d["key"].AsString, d["via"].AsString, d["seq"].AsInt64, d["src"].AsString, d["msg"].AsString, d["at"].AsDateTime.ToUniversalTime(),
        d.TryGetValue("ev", out var ev) && ev.IsDocument ? MatchEvidenceBson.FromBson(ev.AsDocument) : null);

    public static BsonDocument ToBson(this LinkRecord l) => new()
    {
        ["_id"] = l.Id, ["a"] = l.Left, ["b"] = l.Right, ["seq"] = l.Sequence, ["ord"] = l.Order, ["at"] = l.At, ["st"] = l.Status,
        ["ev"] = MatchEvidenceBson.ToBson(l.Evidence), ["note"] = l.Note is null ? BsonValue.Null : l.Note,
    };

    public static LinkRecord Link(BsonDocument d) => new(d["_id"].AsString, d["a"].AsInt64, d["b"].AsInt64, d["seq"].AsInt64, d["ord"].AsInt64,
        d["at"].AsDateTime.ToUniversalTime(), d["st"].AsString, MatchEvidenceBson.FromBson(d["ev"].AsDocument), d["note"].IsNull ? null : d["note"].AsString);

    public static BsonDocument ToBson(this QuarantineRecord q) => new()
    {
        ["_id"] = q.Id, ["kind"] = q.Kind, ["subject"] = q.Subject, ["p"] = q.Profile, ["reason"] = q.Reason, ["seq"] = q.Sequence, ["at"] = q.At,
    };

    public static QuarantineRecord Quarantine(BsonDocument d) => new(d["_id"].AsString, d["kind"].AsString, d["subject"].AsString,
        d["p"].AsInt64, d["reason"].AsString, d["seq"].AsInt64, d["at"].AsDateTime.ToUniversalTime());

    public static BsonDocument ToBson(this UnmergeDirective u) => new() { ["_id"] = u.Key, ["merge"] = u.MergeId, ["seq"] = u.Sequence, ["l"] = u.Loser, ["at"] = u.At };

    /// <summary>Older documents were keyed by merge id and had no "merge" field: they read the same.</summary>
    public static UnmergeDirective Unmerge(BsonDocument d) =>
        new(d.TryGetValue("merge", out var m) ? m.AsString : d["_id"].AsString, d["seq"].AsInt64, d["l"].AsInt64, d["at"].AsDateTime.ToUniversalTime());
}
