namespace Cdp.Modules.Collection.Contracts;

/// <summary>
/// <c>cdp tracking-plan infer</c>: a draft tracking plan (the format of Collection/TrackingPlans/README.md) from what one
/// source sent, read from the event log a page at a time. The draft lists every track event seen, with the JSON types of
/// each property, and flags names that differ only in case, spaces or punctuation ("Appointment Booked" and
/// "appointment_booked"). It checks the very log it was made from without a violation: a starting point to review.
/// </summary>
public interface ITrackingPlanInference
{
    /// <summary>The configured sources (Cdp:Sources), in name order.</summary>
    IReadOnlyList<string> Sources { get; }

    /// <summary>
    /// The draft of the calls of <paramref name="source"/> the log received at or after <paramref name="since"/> (UTC).
    /// Throws <see cref="ArgumentException"/> naming the configured sources when <paramref name="source"/> is not one.
    /// </summary>
    InferredTrackingPlan Infer(string source, DateTime since, CancellationToken cancellationToken = default);
}

/// <param name="Plan">the draft plan, indented JSON</param>
/// <param name="EventsRead">log events read (every source's, from the first received at or after the start)</param>
/// <param name="Calls">calls of the source since the start (every type: track, identify, group, page...)</param>
/// <param name="TrackEvents">distinct track event names in the draft</param>
/// <param name="NearDuplicates">names that are equal once lower-cased with everything but letters and digits removed</param>
public sealed record InferredTrackingPlan(string Plan, long EventsRead, long Calls, int TrackEvents, IReadOnlyList<NearDuplicateNames> NearDuplicates, TimeSpan Duration);

/// <summary>
/// Near-duplicate names: in <paramref name="Where"/> ("events" for track event names, else the schema holding the
/// properties, e.g. "events.Appointment Booked.properties" or "identifyTraits"), most seen first, with the calls of each.
/// </summary>
public sealed record NearDuplicateNames(string Where, IReadOnlyList<string> Names, IReadOnlyList<long> Calls);
