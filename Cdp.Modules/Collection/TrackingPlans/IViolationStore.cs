namespace Cdp.Modules.Collection.TrackingPlans;

/// <summary>
/// One hour's count of one kind of violation (source, call type, event, property, kind), with the latest example:
/// <see cref="Example"/> is JSON {messageId, message, valueType, value} whose value is masked (<see cref="ViolationExample"/>).
/// </summary>
internal sealed record ViolationRow(long Hour, string Source, string Type, string Event, string Property, string Kind, long Count, long LastAtTicks, string Example);

/// <summary>Where the violation counts are kept, one row per hour and violation; one implementation per storage provider.</summary>
internal interface IViolationStore
{
    /// <summary>The rows of the hours from <paramref name="oldestHour"/> on.</summary>
    IReadOnlyList<ViolationRow> Load(long oldestHour);

    /// <summary>
    /// One transaction: adds each row's count to the stored row of its hour and violation (a new row starts at zero; the
    /// example and time of the later one are kept), and deletes the hours before <paramref name="oldestHour"/>. Several
    /// hosts add their counts without overwriting each other's.
    /// </summary>
    void Add(IReadOnlyList<ViolationRow> rows, long oldestHour);
}
