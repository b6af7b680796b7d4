using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Profiles;

/// <summary>
/// Computed traits (config only, <c>Cdp:Profiles:ComputedTraits</c>) on a track event, or on a property of one (their
/// <c>Property</c> and <c>Where</c> paths), that no source's tracking plan has (Collection's <see cref="ITrackingPlans"/>):
/// once a plan blocks or omits them the trait silently stays empty. <c>check-config</c> prints them and the server logs
/// them at start, as warnings. Only traits of <c>Type</c> track with an <c>Event</c> are checked (plans list track events
/// by name); nothing is warned of while no source has a plan.
/// </summary>
[Service]
internal sealed class ComputedTraitPlanWarnings(ITrackingPlans plans, IOptions<ProfilesOptions> options) : ISettingsWarnings
{
    public IEnumerable<string> Warnings()
    {
        if (!plans.AnySourceHasAPlan) yield break;
        foreach (var (name, trait) in options.Value.ComputedTraits.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            if (trait.Type != "track" || string.IsNullOrEmpty(trait.Event)) continue;
            var key = $"{ProfilesOptions.Section}:ComputedTraits:{name}";
            if (plans.UnplannedTrackReference(trait.Event) is { } unplannedEvent)
            {
                yield return $"{key}:Event: {unplannedEvent}";
                continue;
            }
            if (!string.IsNullOrEmpty(trait.Property) && plans.UnplannedTrackReference(trait.Event, trait.Property) is { } unplannedProperty)
                yield return $"{key}:Property: {unplannedProperty}";
            foreach (var path in (trait.Where ?? []).Keys.Where(p => !string.IsNullOrEmpty(p)).Order(StringComparer.Ordinal))
                if (plans.UnplannedTrackReference(trait.Event, path) is { } unplannedFilter)
                    yield return $"{key}:Where:{path}: {unplannedFilter}";
        }
    }
}
