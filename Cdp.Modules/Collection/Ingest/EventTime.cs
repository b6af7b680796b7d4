using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Cdp.Modules.Collection.Ingest;

/// <summary>
/// The one event-time rule for every SDK: the client's time is <c>timestamp</c>, else <c>originalTimestamp</c>; it is
/// corrected for the client's clock skew with <c>sentAt</c> (stored = receivedAt - (sentAt - clientTime)); a result
/// outside [2000-01-01, receivedAt + MaxFutureSkew] is clamped to receivedAt. Pure integer arithmetic on ticks with
/// every bound checked first: no input can raise an exception here.
/// </summary>
internal static class EventTime
{
    /// <summary>Nothing a CDP counts happened before this; older times are clock resets (1970, 0001) or typos.</summary>
    public static readonly DateTimeOffset Earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Epoch numbers below this are seconds, at or above it milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).</summary>
    private const decimal EpochMillisecondsFrom = 1e11m;

    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;

    // After a space was turned into 'T' and the fraction cut to 7 digits; no offset means UTC (AssumeUniversal).
    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd",
        "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    /// <summary>The result of <see cref="Resolve"/>: the time to store and whether it had to be clamped.</summary>
    public readonly record struct Resolved(DateTimeOffset Timestamp, bool Clamped);

    /// <summary>Reads a time sent by a client: an ISO-8601 string, or Unix epoch seconds/milliseconds as a number or digit string.</summary>
    public static bool TryParse(JsonElement value, out DateTimeOffset time)
    {
        time = default;
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                return value.TryGetDecimal(out var n) && TryFromEpoch(n, out time);
            case JsonValueKind.String:
                var raw = JsonMarshal.GetRawUtf8Value(value);
                // the common case, an SDK's "2024-05-01T10:00:00.000Z": System.Text.Json's own parser, no string made
                if (raw.IndexOf((byte)'\\') < 0 && HasExplicitOffset(raw) && value.TryGetDateTimeOffset(out time)) return true;
                return TryParse(value.GetString()!, out time);
            default:
                return false;
        }
    }

    public static bool TryParse(string text, out DateTimeOffset time)
    {
        time = default;
        var s = text.Trim();
        if (s.Length == 0 || s.Length > 40) return false;
        if (IsEpochText(s))
            return decimal.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && TryFromEpoch(n, out time);
        if (s.Length > 10 && s[10] == ' ') s = string.Concat(s.AsSpan(0, 10), "T", s.AsSpan(11));
        s = CutFraction(s);
        return DateTimeOffset.TryParseExact(s, IsoFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }

    /// <summary>
    /// The stored timestamp. <paramref name="clientTime"/> and <paramref name="sentAt"/> are null when absent or unreadable.
    /// </summary>
    public static Resolved Resolve(DateTimeOffset? clientTime, DateTimeOffset? sentAt, DateTimeOffset receivedAt, TimeSpan maxFutureSkew)
    {
        if (clientTime is not { } client) return new Resolved(receivedAt, false);
        // ticks of any DateTimeOffset are in [0, 3.2e18]: the difference and the sum below stay far from long's 9.2e18
        var ticks = sentAt is { } sent
            ? receivedAt.UtcTicks - (sent.UtcTicks - client.UtcTicks)
            : client.UtcTicks;
        var latest = receivedAt.UtcTicks + Math.Min(maxFutureSkew.Ticks, DateTime.MaxValue.Ticks - receivedAt.UtcTicks);
        if (ticks < Earliest.UtcTicks || ticks > latest) return new Resolved(receivedAt, true);
        return new Resolved(new DateTimeOffset(ticks, TimeSpan.Zero), false);
    }

    /// <summary>Decimal, not double: 1772359200123 ms must give .123, not .1229952 (decimal holds any JSON number up to 7.9e28).</summary>
    private static bool TryFromEpoch(decimal n, out DateTimeOffset time)
    {
        time = default;
        if (Math.Abs(n) >= 1e20m) return false; // far outside DateTime's range either way; keeps the products below in decimal's
        var milliseconds = Math.Abs(n) < EpochMillisecondsFrom ? n * 1000 : n;
        var ticks = decimal.Round(milliseconds * TimeSpan.TicksPerMillisecond) + UnixEpochTicks;
        if (ticks < 0 || ticks > DateTime.MaxValue.Ticks) return false;
        time = new DateTimeOffset((long)ticks, TimeSpan.Zero);
        return true;
    }

    /// <summary>Digits with at most one decimal point: an epoch sent as a string (webhooks do).</summary>
    private static bool IsEpochText(string s)
    {
        var dot = false;
        foreach (var c in s)
        {
            if (c == '.' && !dot) { dot = true; continue; }
            if (!char.IsAsciiDigit(c)) return false;
        }
        return s[0] != '.';
    }

    /// <summary>"…Z", "…+02:00" or "…-0500" after a time of day; without one, System.Text.Json would assume the server's zone.</summary>
    private static bool HasExplicitOffset(ReadOnlySpan<byte> s)
    {
        if (s.Length <= 16) return false; // shorter than yyyy-MM-ddTHH:mmZ
        var last = s[^1];
        if (last is (byte)'Z' or (byte)'z') return true;
        return s[^6] is (byte)'+' or (byte)'-' && s[^3] == (byte)':';
    }

    /// <summary>.NET reads at most 7 fraction digits; JavaScript and Python send 3 to 9. The extra digits are below 100 ns.</summary>
    private static string CutFraction(string s)
    {
        var dot = s.IndexOf('.');
        if (dot < 0) return s;
        var end = dot + 1;
        while (end < s.Length && char.IsAsciiDigit(s[end])) end++;
        return end - dot - 1 <= 7 ? s : string.Concat(s.AsSpan(0, dot + 8), s.AsSpan(end));
    }
}
