namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// The event times (UTC ticks) of a timeline part, parallel to its sequences: zigzag LEB128 varints of the differences
/// (events of one person mostly come in time order, so a difference is a few bytes). 0 is "not known": a timeline part
/// written before event times were kept (see <see cref="ProfileTimeline.Entries"/>, which reads those from the log).
/// </summary>
internal static class EventTimes
{
    public const long Unknown = 0;

    public static byte[] Encode(IReadOnlyList<long> ticks)
    {
        var buffer = new List<byte>(ticks.Count * 5);
        long previous = 0;
        foreach (var t in ticks)
        {
            var delta = t - previous;
            previous = t;
            var zigzag = (ulong)((delta << 1) ^ (delta >> 63));
            while (zigzag >= 0x80)
            {
                buffer.Add((byte)(zigzag | 0x80));
                zigzag >>= 7;
            }
            buffer.Add((byte)zigzag);
        }
        return buffer.ToArray();
    }

    /// <summary>The times of <paramref name="count"/> entries; all <see cref="Unknown"/> when <paramref name="bytes"/> is absent or does not hold that many.</summary>
    public static List<long> Decode(byte[]? bytes, int count)
    {
        var result = new List<long>(count);
        if (bytes is not null)
        {
            long previous = 0;
            var i = 0;
            while (i < bytes.Length && result.Count < count)
            {
                ulong zigzag = 0;
                var shift = 0;
                byte b;
                do
                {
                    if (i >= bytes.Length || shift > 63) return Unknowns(count);
                    b = bytes[i++];
                    zigzag |= (ulong)(b & 0x7F) << shift;
                    shift += 7;
                } while ((b & 0x80) != 0);
                previous += (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
                result.Add(previous);
            }
        }
        return result.Count == count ? result : Unknowns(count);
    }

    private static List<long> Unknowns(int count) => Enumerable.Repeat(Unknown, count).ToList();
}
