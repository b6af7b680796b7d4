using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// A <see cref="TreeDocument"/> as BSON bytes (bsonspec.org), element for element as LiteDB writes a document: times as
/// milliseconds since 1970 UTC (DateTime.MinValue and MaxValue kept), decimals as their four 32-bit parts (type 0x13),
/// guids as binary subtype 4, MinKey/MaxKey as 0xFF/0x7F. How a profile record is kept where the store holds bytes
/// (PostgreSQL), readable by any BSON library, and byte for byte what earlier Cdp versions wrote there.
/// </summary>
internal static class TreeBson
{
    private static readonly DateTime UnixEpoch = new(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private const long MaxValueMs = 253402300800000;
    private const long MinValueMs = -62135596800000;

    public static byte[] Serialize(TreeDocument document)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        WriteDocument(buffer, document);
        return buffer.WrittenSpan.ToArray();
    }

    public static TreeDocument Deserialize(ReadOnlySpan<byte> bytes)
    {
        var at = 0;
        return ReadDocument(bytes, ref at, 0);
    }

    private static void WriteDocument(ArrayBufferWriter<byte> w, TreeDocument d)
    {
        var start = w.WrittenCount;
        WriteInt32(w, 0);
        foreach (var (key, value) in d) WriteElement(w, key, value);
        WriteByte(w, 0);
        Patch(w, start);
    }

    private static void WriteArray(ArrayBufferWriter<byte> w, TreeArray a)
    {
        var start = w.WrittenCount;
        WriteInt32(w, 0);
        for (var i = 0; i < a.Count; i++) WriteElement(w, i.ToString(System.Globalization.CultureInfo.InvariantCulture), a[i]);
        WriteByte(w, 0);
        Patch(w, start);
    }

    /// <summary>Writes the length of the document or array that starts at <paramref name="start"/> into its first four bytes.</summary>
    private static void Patch(ArrayBufferWriter<byte> w, int start)
    {
        var length = w.WrittenCount - start;
        // ArrayBufferWriter exposes what it wrote read-only; the length slot is ours, written moments ago
        var span = System.Runtime.InteropServices.MemoryMarshal.AsMemory(w.WrittenMemory).Span;
        BinaryPrimitives.WriteInt32LittleEndian(span[start..], length);
    }

    private static void WriteElement(ArrayBufferWriter<byte> w, string key, TreeValue v)
    {
        switch (v.Type)
        {
            case TreeType.Double: Head(w, 0x01, key); WriteInt64(w, BitConverter.DoubleToInt64Bits(v.AsDouble)); break;
            case TreeType.String:
                Head(w, 0x02, key);
                var s = v.AsString;
                WriteInt32(w, Encoding.UTF8.GetByteCount(s) + 1);
                WriteUtf8(w, s);
                WriteByte(w, 0);
                break;
            case TreeType.Document: Head(w, 0x03, key); WriteDocument(w, v.AsDocument); break;
            case TreeType.Array: Head(w, 0x04, key); WriteArray(w, v.AsArray); break;
            case TreeType.Binary:
                Head(w, 0x05, key);
                var bytes = v.AsBinary;
                WriteInt32(w, bytes.Length);
                WriteByte(w, 0x00);
                w.Write(bytes);
                break;
            case TreeType.Guid:
                Head(w, 0x05, key);
                WriteInt32(w, 16);
                WriteByte(w, 0x04);
                w.Write(v.AsGuid.ToByteArray());
                break;
            case TreeType.Boolean: Head(w, 0x08, key); WriteByte(w, v.AsBoolean ? (byte)1 : (byte)0); break;
            case TreeType.DateTime:
                Head(w, 0x09, key);
                var date = v.AsDateTime;
                var utc = date == DateTime.MinValue || date == DateTime.MaxValue ? date : date.ToUniversalTime();
                WriteInt64(w, Convert.ToInt64((utc - UnixEpoch).TotalMilliseconds));
                break;
            case TreeType.Null: Head(w, 0x0A, key); break;
            case TreeType.Int32: Head(w, 0x10, key); WriteInt32(w, v.AsInt32); break;
            case TreeType.Int64: Head(w, 0x12, key); WriteInt64(w, v.AsInt64); break;
            case TreeType.Decimal:
                Head(w, 0x13, key);
                foreach (var part in decimal.GetBits(v.AsDecimal)) WriteInt32(w, part);
                break;
            case TreeType.MinValue: Head(w, 0xFF, key); break;
            case TreeType.MaxValue: Head(w, 0x7F, key); break;
            default: throw new InvalidOperationException($"no BSON form for {v.Type}");
        }
    }

    private static void Head(ArrayBufferWriter<byte> w, byte type, string key)
    {
        WriteByte(w, type);
        WriteUtf8(w, key);
        WriteByte(w, 0);
    }

    private static void WriteByte(ArrayBufferWriter<byte> w, byte b)
    {
        w.GetSpan(1)[0] = b;
        w.Advance(1);
    }

    private static void WriteInt32(ArrayBufferWriter<byte> w, int v)
    {
        BinaryPrimitives.WriteInt32LittleEndian(w.GetSpan(4), v);
        w.Advance(4);
    }

    private static void WriteInt64(ArrayBufferWriter<byte> w, long v)
    {
        BinaryPrimitives.WriteInt64LittleEndian(w.GetSpan(8), v);
        w.Advance(8);
    }

    private static void WriteUtf8(ArrayBufferWriter<byte> w, string s)
    {
        var n = Encoding.UTF8.GetByteCount(s);
        Encoding.UTF8.GetBytes(s, w.GetSpan(n));
        w.Advance(n);
    }

    private const int MaxDepth = 200;

    private static TreeDocument ReadDocument(ReadOnlySpan<byte> b, ref int at, int depth)
    {
        var end = Frame(b, ref at, depth);
        var d = new TreeDocument();
        while (at < end - 1)
        {
            var type = b[at++];
            var key = ReadCString(b, ref at);
            d[key] = ReadValue(b, type, ref at, depth);
        }
        at = end;
        return d;
    }

    private static TreeArray ReadArray(ReadOnlySpan<byte> b, ref int at, int depth)
    {
        var end = Frame(b, ref at, depth);
        var a = new TreeArray();
        while (at < end - 1)
        {
            var type = b[at++];
            ReadCString(b, ref at);
            a.Add(ReadValue(b, type, ref at, depth));
        }
        at = end;
        return a;
    }

    /// <summary>Reads a document's or array's length and returns where it ends; refuses a frame that does not fit.</summary>
    private static int Frame(ReadOnlySpan<byte> b, ref int at, int depth)
    {
        if (depth > MaxDepth) throw new FormatException($"BSON nested deeper than {MaxDepth} levels");
        var length = BinaryPrimitives.ReadInt32LittleEndian(b[at..]);
        if (length < 5 || at + length > b.Length || b[at + length - 1] != 0) throw new FormatException($"a BSON document of {length} bytes at {at} does not fit in {b.Length} bytes");
        var end = at + length;
        at += 4;
        return end;
    }

    private static TreeValue ReadValue(ReadOnlySpan<byte> b, byte type, ref int at, int depth)
    {
        switch (type)
        {
            case 0x01: { var v = BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64LittleEndian(b[at..])); at += 8; return new TreeValue(v); }
            case 0x02:
            {
                var n = BinaryPrimitives.ReadInt32LittleEndian(b[at..]);
                at += 4;
                var s = Encoding.UTF8.GetString(b.Slice(at, n - 1));
                at += n;
                return new TreeValue(s);
            }
            case 0x03: return ReadDocument(b, ref at, depth + 1);
            case 0x04: return ReadArray(b, ref at, depth + 1);
            case 0x05:
            {
                var n = BinaryPrimitives.ReadInt32LittleEndian(b[at..]);
                var subtype = b[at + 4];
                var bytes = b.Slice(at + 5, n).ToArray();
                at += 5 + n;
                return subtype is 0x04 or 0x03 && n == 16 ? new TreeValue(new Guid(bytes)) : new TreeValue(bytes);
            }
            case 0x07: { var s = Convert.ToHexStringLower(b.Slice(at, 12)); at += 12; return new TreeValue(s); } // an ObjectId (Cdp writes none): its hex text
            case 0x08: return new TreeValue(b[at++] != 0);
            case 0x09:
            {
                var ms = BinaryPrimitives.ReadInt64LittleEndian(b[at..]);
                at += 8;
                return new TreeValue(ms == MaxValueMs ? DateTime.MaxValue : ms == MinValueMs ? DateTime.MinValue : UnixEpoch.AddMilliseconds(ms));
            }
            case 0x0A: return TreeValue.Null;
            case 0x10: { var v = BinaryPrimitives.ReadInt32LittleEndian(b[at..]); at += 4; return new TreeValue(v); }
            case 0x12: { var v = BinaryPrimitives.ReadInt64LittleEndian(b[at..]); at += 8; return new TreeValue(v); }
            case 0x13:
            {
                var parts = new int[4];
                for (var i = 0; i < 4; i++) parts[i] = BinaryPrimitives.ReadInt32LittleEndian(b[(at + 4 * i)..]);
                at += 16;
                return new TreeValue(new decimal(parts));
            }
            case 0xFF: return TreeValue.MinValue;
            case 0x7F: return TreeValue.MaxValue;
            default: throw new FormatException($"BSON type 0x{type:x2} at {at - 1} is not one Cdp reads");
        }
    }

    private static string ReadCString(ReadOnlySpan<byte> b, ref int at)
    {
        var n = b[at..].IndexOf((byte)0);
        if (n < 0) throw new FormatException("a BSON key without its NUL");
        var s = Encoding.UTF8.GetString(b.Slice(at, n));
        at += n + 1;
        return s;
    }
}
