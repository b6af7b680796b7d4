namespace Cdp.Modules.Collection.Statistics;

/// <summary>Where the ingest counters are kept: one row per hour (its number since year 1), its minutes' counts. One implementation per storage provider.</summary>
internal interface IIngestStatisticsStore
{
    /// <summary>The stored hours from <paramref name="oldestHour"/> on.</summary>
    IReadOnlyDictionary<long, long[]> Load(long oldestHour);

    /// <summary>One transaction: writes <paramref name="hours"/> (replacing what they held) and deletes the hours before <paramref name="oldestHour"/>.</summary>
    void Save(IReadOnlyDictionary<long, long[]> hours, long oldestHour);

    /// <summary>
    /// One transaction: adds <paramref name="deltas"/> to the stored hours, minute by minute (an hour not stored yet starts
    /// at zero), and deletes the hours before <paramref name="oldestHour"/>. Several hosts add their own counts to the same
    /// hours without overwriting each other's.
    /// </summary>
    void Add(IReadOnlyDictionary<long, long[]> deltas, long oldestHour);
}
