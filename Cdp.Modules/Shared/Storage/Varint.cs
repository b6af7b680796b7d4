namespace Cdp.Modules.Shared.Storage;

/// <summary>Ascending sequences as LEB128 varints of their deltas (~2-3 bytes each).</summary>
public static class Varint
{
    public static byte[] Encode(IReadOnlyList<long> ascending)
    {
        var buffer = new byte[ascending.Count * 10];
        var n = 0;
        long previous = 0;
        foreach (var s in ascending)
        {
            var v = (ulong)(s - previous);
            previous = s;
            while (v >= 0x80) { buffer[n++] = (byte)(v | 0x80); v >>= 7; }
            buffer[n++] = (byte)v;
        }
        return buffer[..n];
    }

    public static List<long> Decode(byte[] bytes)
    {
        var result = new List<long>(bytes.Length);
        long previous = 0;
        var i = 0;
        while (i < bytes.Length)
        {
            ulong v = 0;
            var shift = 0;
            byte b;
            do { b = bytes[i++]; v |= (ulong)(b & 0x7F) << shift; shift += 7; } while ((b & 0x80) != 0);
            previous += (long)v;
            result.Add(previous);
        }
        return result;
    }

    public static List<long> MergeSorted(List<long> a, List<long> b)
    {
        var r = new List<long>(a.Count + b.Count);
        int i = 0, j = 0;
        while (i < a.Count || j < b.Count)
        {
            var next = j >= b.Count || (i < a.Count && a[i] <= b[j]) ? a[i++] : b[j++];
            if (r.Count == 0 || r[^1] != next) r.Add(next);
        }
        return r;
    }
}
