using System.Security.Cryptography;
using System.Text;

namespace Cdp.Modules.Segments.Evaluation;

/// <summary>
/// Counts of one event condition (selector + filter) for one profile: a total and one count per UTC day
/// (day number = days since 0001-01-01), oldest first. Days older than the retention are dropped on write;
/// the total is kept for "ever" windows. Merges add counters; an unmerge recounts from the events.
/// </summary>
internal sealed class EventCounter
{
    public long Total { get; private set; }

    private readonly List<(int Day, long Count)> _days = [];

    public IReadOnlyList<(int Day, long Count)> Days => _days;

    public void Add(int day, long count = 1)
    {
        Total += count;
        var i = _days.Count - 1;
        while (i >= 0 && _days[i].Day > day) i--; // newest days are appended: usually no step back
        if (i >= 0 && _days[i].Day == day) _days[i] = (day, _days[i].Count + count);
        else _days.Insert(i + 1, (day, count));
    }

    public void AddAll(EventCounter other)
    {
        foreach (var (day, count) in other._days) Add(day, count);
        Total += other.Total - other._days.Sum(d => d.Count);
    }

    /// <summary>Events on days in [fromDay, toDay] (inclusive), or all of them when the window is "ever".</summary>
    public long Count(int fromDay, int toDay, bool ever)
    {
        if (ever) return Total;
        long n = 0;
        foreach (var (day, count) in _days) if (day >= fromDay && day <= toDay) n += count;
        return n;
    }

    public void Trim(int oldestDay) => _days.RemoveAll(d => d.Day < oldestDay);

    /// <summary>A counter as stored: its total and its days, oldest first.</summary>
    public static EventCounter Of(long total, IEnumerable<(int Day, long Count)> days)
    {
        var c = new EventCounter { Total = total };
        c._days.AddRange(days);
        return c;
    }
}

internal static class Days
{
    public static int Of(DateTime utc) => (int)(utc.Ticks / TimeSpan.TicksPerDay);

    public static DateTime Start(int day) => new(day * TimeSpan.TicksPerDay, DateTimeKind.Utc);

    /// <summary>A short stable id for a counter signature (the BSON key of its counter).</summary>
    public static string SignatureId(string signature) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(signature)))[..12];
}
