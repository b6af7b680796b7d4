using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Segments.Language;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Segments.Definitions;

/// <summary>
/// Conditions on a track event, or on a property of one, that no source's tracking plan has (Collection's
/// <see cref="ITrackingPlans"/>): once a plan blocks or omits them such conditions silently never match. Warnings, never
/// errors: a save still succeeds and carries them, <c>check-config</c> prints those of the config segments and the server
/// logs them at start. Nothing is warned of while no source has a plan.
/// </summary>
[Service]
internal sealed class SegmentPlanWarnings(ITrackingPlans plans, IOptions<SegmentSettings> settings) : ISettingsWarnings
{
    /// <summary>
    /// One sentence per unplanned track event (named in a <c>performed "…"</c> or <c>performed track "…"</c>), or per
    /// unplanned <c>properties.…</c> path in its <c>where</c> filter; empty when all is planned. A property is looked at
    /// only when its event is planned (an unplanned event is one warning, not one per property).
    /// </summary>
    public IReadOnlyList<string> Of(Condition condition)
    {
        if (!plans.AnySourceHasAPlan) return [];
        var warnings = new List<string>();
        foreach (var e in SegmentRules.Events(condition))
        {
            if (e.Selector is not { Type: "track", Name: { } name }) continue; // page, screen, identify... and "any event" are not planned by name
            if (plans.UnplannedTrackReference(name) is { } unplannedEvent)
            {
                Add(unplannedEvent);
                continue;
            }
            if (e.Filter is null) continue;
            foreach (var path in PropertyPaths(e.Filter))
                if (plans.UnplannedTrackReference(name, path) is { } unplannedProperty) Add(unplannedProperty);
        }
        return warnings;

        void Add(string warning)
        {
            if (!warnings.Contains(warning, StringComparer.Ordinal)) warnings.Add(warning);
        }
    }

    /// <summary>The <c>properties.…</c> paths a filter reads, without "properties." (context.… and traits.… are not checked).</summary>
    internal static IEnumerable<string> PropertyPaths(Condition filter) => filter switch
    {
        ValueCondition { Source: ValueSource.Event, Path: ["properties", _, ..] path } => [string.Join('.', path[1..])],
        AllOf a => a.Parts.SelectMany(PropertyPaths),
        AnyOf a => a.Parts.SelectMany(PropertyPaths),
        Negation n => PropertyPaths(n.Inner),
        _ => [],
    };

    /// <summary>The config segments' warnings, each as "Cdp:Segments:&lt;key&gt;:Where: …" (a definition that does not parse is the validation's to report).</summary>
    public IEnumerable<string> Warnings()
    {
        if (!plans.AnySourceHasAPlan) yield break;
        foreach (var (key, setting) in settings.Value.OrderBy(s => s.Key, StringComparer.OrdinalIgnoreCase))
        {
            if (string.IsNullOrWhiteSpace(setting.Where)) continue;
            Condition condition;
            try { condition = SegmentParser.Parse(setting.Where); }
            catch (Exception ex) when (ex is not OutOfMemoryException) { continue; }
            foreach (var warning in Of(condition)) yield return $"{SegmentSettings.Section}:{key}:Where: {warning}";
        }
    }
}
