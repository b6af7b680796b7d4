using LiteDB;

namespace Cdp.Modules.Profiles.Projection.LiteDb;

/// <summary>
/// The profile value tree as LiteDB documents and back: kind for kind (the tree's kinds are BSON's), so the stored documents
/// keep the fields and types they always had. An ObjectId (Cdp writes none) reads as its hex text.
/// </summary>
internal static class TreeBsonDocuments
{
    public static BsonDocument ToBson(TreeDocument d)
    {
        var b = new BsonDocument();
        foreach (var (k, v) in d) b[k] = ToBson(v);
        return b;
    }

    public static BsonValue ToBson(TreeValue v) => v.Type switch
    {
        TreeType.Null => BsonValue.Null,
        TreeType.Int32 => new BsonValue(v.AsInt32),
        TreeType.Int64 => new BsonValue(v.AsInt64),
        TreeType.Double => new BsonValue(v.AsDouble),
        TreeType.Decimal => new BsonValue(v.AsDecimal),
        TreeType.String => new BsonValue(v.AsString),
        TreeType.Boolean => new BsonValue(v.AsBoolean),
        TreeType.DateTime => new BsonValue(v.AsDateTime),
        TreeType.Binary => new BsonValue(v.AsBinary),
        TreeType.Guid => new BsonValue(v.AsGuid),
        TreeType.Document => ToBson(v.AsDocument),
        TreeType.Array => ToBson(v.AsArray),
        TreeType.MinValue => BsonValue.MinValue,
        TreeType.MaxValue => BsonValue.MaxValue,
        _ => throw new InvalidOperationException($"no BSON form for {v.Type}"),
    };

    private static BsonArray ToBson(TreeArray a)
    {
        var b = new BsonArray(); // not BsonArray(int): that is params BsonValue[], an array holding the number
        foreach (var x in a) b.Add(ToBson(x));
        return b;
    }

    public static TreeDocument ToTree(BsonDocument d)
    {
        var t = new TreeDocument(d.Count);
        foreach (var (k, v) in d) t[k] = ToTree(v);
        return t;
    }

    public static TreeValue ToTree(BsonValue v)
    {
        switch (v.Type)
        {
            case BsonType.Null: return TreeValue.Null;
            case BsonType.Int32: return new TreeValue(v.AsInt32);
            case BsonType.Int64: return new TreeValue(v.AsInt64);
            case BsonType.Double: return new TreeValue(v.AsDouble);
            case BsonType.Decimal: return new TreeValue(v.AsDecimal);
            case BsonType.String: return new TreeValue(v.AsString);
            case BsonType.Boolean: return new TreeValue(v.AsBoolean);
            case BsonType.DateTime: return new TreeValue(v.AsDateTime);
            case BsonType.Binary: return new TreeValue(v.AsBinary);
            case BsonType.Guid: return new TreeValue(v.AsGuid);
            case BsonType.ObjectId: return new TreeValue(v.AsObjectId.ToString());
            case BsonType.Document: return ToTree(v.AsDocument);
            case BsonType.Array:
                var a = new TreeArray();
                foreach (var x in v.AsArray) a.Add(ToTree(x));
                return a;
            case BsonType.MinValue: return TreeValue.MinValue;
            case BsonType.MaxValue: return TreeValue.MaxValue;
            default: throw new InvalidOperationException($"no tree form for {v.Type}");
        }
    }
}
