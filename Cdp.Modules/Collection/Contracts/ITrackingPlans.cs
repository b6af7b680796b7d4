namespace Cdp.Modules.Collection.Contracts;

/// <summary>
/// The tracking plans of <c>Cdp:TrackingPlans</c>, as other modules may ask about them: whether an event or one of its
/// properties is planned. Segments and computed traits use it to warn, at save time and in <c>check-config</c>, of
/// conditions on events or properties that no source's plan has (they would silently never match once the plan blocks
/// or omits them).
/// </summary>
public interface ITrackingPlans
{
    /// <summary>True when at least one source points at a tracking plan (otherwise nothing is planned and nothing is warned of).</summary>
    bool AnySourceHasAPlan { get; }

    /// <summary>
    /// Null when some source's plan has the track event <paramref name="eventName"/> (and, when given, its property
    /// <paramref name="propertyPath"/>: a top-level name such as "clinic", or dotted into nested objects such as
    /// "order.total"); otherwise a sentence saying what is unplanned and in which plans it was looked for.
    /// Always null when no source has a plan.
    /// </summary>
    string? UnplannedTrackReference(string eventName, string? propertyPath = null);

    /// <summary>
    /// The violations recorded from <paramref name="from"/> on (whole hours; every host's), summed per source, event,
    /// property and kind, most first.
    /// </summary>
    IReadOnlyList<TrackingPlanViolationCount> ViolationsSince(DateTime from);
}

/// <summary>How often one kind of violation (see the README's tracking plans) happened: event is empty for identify and group traits.</summary>
public sealed record TrackingPlanViolationCount(string Source, string Type, string Event, string Property, string Kind, long Count);
