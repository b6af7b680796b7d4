using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Identity.Graph.PostgreSql;

/// <summary>
/// The identity records' stored bytes on PostgreSQL. Identifiers, messageIds and matched values come from outside and may
/// hold a NUL, so they never go into text or jsonb: a node is a compact binary record, the other records UTF-8 JSON
/// (with \u0000 escapes, safe in bytea).
/// </summary>
internal static class IdentityRows
{
    private const byte NodeFormat = 1;

    private static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(byte[] utf8) => Encoding.UTF8.GetString(utf8);

    public static byte[] HashBytes(UInt128 hash)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, hash);
        return bytes;
    }

    public static UInt128 Hash(byte[] bytes) => BinaryPrimitives.ReadUInt128BigEndian(bytes);

    /// <summary>A live node's identifiers and history (a merged-away node is only its "into" column).</summary>
    public static byte[] Node(IdentityNode n)
    {
        using var stream = new MemoryStream(64 + n.Ids.Count * 48);
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(NodeFormat);
            w.Write7BitEncodedInt(n.Ids.Count);
            foreach (var i in n.Ids)
            {
                w.Write(i.Key);
                w.Write(i.First.Ticks);
                w.Write(i.Last.Ticks);
            }
            w.Write7BitEncodedInt(n.Merges);
            w.Write(n.Quarantine is not null);
            if (n.Quarantine is not null) w.Write(n.Quarantine);
            w.Write7BitEncodedInt(n.Absorbed.Count);
            foreach (var a in n.Absorbed) w.Write7BitEncodedInt64(a);
            var touches = Varint.Encode(n.Touches);
            w.Write7BitEncodedInt(touches.Length);
            w.Write(touches);
            w.Write7BitEncodedInt(n.MergeIds.Count);
            foreach (var m in n.MergeIds) w.Write(m);
        }
        return stream.ToArray();
    }

    public static IdentityNode Node(long profile, long into, byte[]? bytes)
    {
        var n = new IdentityNode(profile);
        if (into != 0 || bytes is null)
        {
            n.Into = into;
            return n;
        }
        using var r = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        var format = r.ReadByte();
        if (format != NodeFormat) throw new InvalidDataException($"identity node {profile} has an unknown format ({format})");
        var count = r.Read7BitEncodedInt();
        n.Ids = new List<NodeIdentifier>(count);
        for (var i = 0; i < count; i++)
            n.Ids.Add(new NodeIdentifier(r.ReadString(), new DateTime(r.ReadInt64(), DateTimeKind.Utc), new DateTime(r.ReadInt64(), DateTimeKind.Utc)));
        n.Merges = r.Read7BitEncodedInt();
        n.Quarantine = r.ReadBoolean() ? r.ReadString() : null;
        count = r.Read7BitEncodedInt();
        n.Absorbed = new List<long>(count);
        for (var i = 0; i < count; i++) n.Absorbed.Add(r.Read7BitEncodedInt64());
        n.Touches = Varint.Decode(r.ReadBytes(r.Read7BitEncodedInt()));
        count = r.Read7BitEncodedInt();
        n.MergeIds = new List<string>(count);
        for (var i = 0; i < count; i++) n.MergeIds.Add(r.ReadString());
        return n;
    }

    public static byte[] Record<T>(T record) => JsonSerializer.SerializeToUtf8Bytes(record, Json);

    public static T Record<T>(byte[] utf8) => JsonSerializer.Deserialize<T>(utf8, Json) ?? throw new InvalidDataException($"an empty {typeof(T).Name}");

    public static byte[]? Optional(string? text) => text is null ? null : Utf8(text);
}
