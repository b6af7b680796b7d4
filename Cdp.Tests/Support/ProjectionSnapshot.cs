using System.Text;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Tests.Support;

/// <summary>A canonical text dump of the identity and profile projections (documents by _id, fields sorted), to compare states.</summary>
public static class ProjectionSnapshot
{
    public static readonly string[] Collections =
    [
        "profiles", "profile_timeline", "profile_accounts",
        "identity_nodes", "identity_keys", "identity_merges", "identity_quarantine", "identity_carriers",
    ];

    public static string Take(CdpDatabase db) => Take(db.Database);

    public static string Take(LiteDatabase db)
    {
        var sb = new StringBuilder();
        foreach (var name in Collections)
        {
            sb.Append("## ").AppendLine(name);
            foreach (var d in db.GetCollection(name).FindAll().OrderBy(d => d["_id"]))
            {
                Write(sb, d);
                sb.AppendLine();
            }
        }
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, BsonValue v)
    {
        switch (v.Type)
        {
            case BsonType.Document:
                sb.Append('{');
                foreach (var (k, x) in v.AsDocument.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    sb.Append(k).Append(':');
                    Write(sb, x);
                    sb.Append(',');
                }
                sb.Append('}');
                break;
            case BsonType.Array:
                sb.Append('[');
                foreach (var x in v.AsArray) { Write(sb, x); sb.Append(','); }
                sb.Append(']');
                break;
            case BsonType.Binary:
                sb.Append(Convert.ToBase64String(v.AsBinary));
                break;
            case BsonType.DateTime:
                sb.Append(v.AsDateTime.ToUniversalTime().Ticks);
                break;
            default:
                sb.Append(v.Type).Append(':').Append(v.RawValue);
                break;
        }
    }
}
