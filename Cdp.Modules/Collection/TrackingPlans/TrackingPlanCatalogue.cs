using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Collection.TrackingPlans;

/// <summary>What a call with invalid, missing or unplanned properties becomes.</summary>
internal enum ViolationAction
{
    /// <summary>Stored as sent; the violations are recorded.</summary>
    Report,

    /// <summary>Stored without the unplanned and invalid properties (traits); the violations are recorded.</summary>
    Omit,

    /// <summary>Dead-lettered with the violations as its reasons (and recorded).</summary>
    Block,
}

/// <summary>What a track event the plan does not list becomes.</summary>
internal enum UnplannedEventAction
{
    /// <summary>Stored; recorded as an unplanned event.</summary>
    Report,

    /// <summary>Stored; not recorded (a plan that lists only the events whose properties matter).</summary>
    Allow,

    /// <summary>Dead-lettered (and recorded).</summary>
    Block,
}

/// <summary>A source's plan and what its violations become.</summary>
internal sealed record SourcePlan(string Source, TrackingPlan Plan, ViolationAction OnViolation, UnplannedEventAction OnUnplannedEvent);

internal static class SourcePlanSettings
{
    public static bool TryParse<T>(string? text, out T value) where T : struct, Enum =>
        Enum.TryParse(text, ignoreCase: true, out value) && Enum.IsDefined(value) && !int.TryParse(text, out _);
}

/// <summary>
/// The plans of <c>Cdp:TrackingPlans</c>, compiled once at start, and which source checks against which. A plan is a JSON
/// file that <c>Cdp:TrackingPlans:&lt;plan&gt;:File</c> names (relative to the folder of appsettings.json), or written
/// inline under <c>Cdp:TrackingPlans:&lt;plan&gt;</c>. Invalid plans or a source naming an unknown plan refuse the start
/// (<see cref="TrackingPlanSettingsRules"/>).
/// </summary>
[Service]
internal sealed class TrackingPlanCatalogue : ITrackingPlans
{
    public const string Section = "Cdp:TrackingPlans";

    private readonly IReadOnlyDictionary<string, TrackingPlan> _plans;
    private readonly Dictionary<string, SourcePlan> _bySource;

    private readonly ViolationLog _violations;

    public TrackingPlanCatalogue(CompiledTrackingPlans compiled, IOptions<SourcesOptions> sources, ViolationLog violations)
    {
        _violations = violations;
        _plans = compiled.Plans;
        _bySource = new Dictionary<string, SourcePlan>(StringComparer.Ordinal);
        foreach (var (name, source) in sources.Value)
        {
            if (string.IsNullOrWhiteSpace(source.TrackingPlan) || !_plans.TryGetValue(source.TrackingPlan, out var plan)) continue;
            SourcePlanSettings.TryParse(source.OnViolation, out ViolationAction onViolation);
            SourcePlanSettings.TryParse(source.OnUnplannedEvent, out UnplannedEventAction onUnplanned);
            _bySource[name] = new SourcePlan(name, plan, onViolation, onUnplanned);
        }
    }

    public IReadOnlyDictionary<string, TrackingPlan> Plans => _plans;

    public IReadOnlyCollection<SourcePlan> Sources => _bySource.Values;

    /// <summary>The plan the source's calls are checked against, or null.</summary>
    public SourcePlan? ForSource(string source) => _bySource.GetValueOrDefault(source);

    public bool AnySourceHasAPlan => _bySource.Count > 0;

    public string? UnplannedTrackReference(string eventName, string? propertyPath = null)
    {
        if (_bySource.Count == 0) return null;
        var plans = _bySource.Values.Select(s => s.Plan).DistinctBy(p => p.Name).ToList();
        var withEvent = plans.Where(p => p.Events.ContainsKey(eventName)).ToList();
        var names = string.Join(", ", plans.Select(p => $"'{p.Name}'"));
        if (withEvent.Count == 0)
        {
            var folded = PlanDraft.Folded(eventName);
            var near = plans.SelectMany(p => p.Events.Keys).FirstOrDefault(k => PlanDraft.Folded(k) == folded);
            return $"event '{eventName}' is in no tracking plan ({names})" + (near is null ? "" : $"; did you mean '{near}'?");
        }
        if (string.IsNullOrEmpty(propertyPath)) return null;
        foreach (var p in withEvent)
        {
            var e = p.Events[eventName];
            if (e.Properties is null || e.Properties.PlansPath(propertyPath)) return null;
        }
        return $"property '{propertyPath}' of event '{eventName}' is in no tracking plan ({string.Join(", ", withEvent.Select(p => $"'{p.Name}'"))})";
    }

    public IReadOnlyList<TrackingPlanViolationCount> ViolationsSince(DateTime from) => _violations.Rows(from)
        .GroupBy(r => (r.Source, r.Type, r.Event, r.Property, r.Kind))
        .Select(g => new TrackingPlanViolationCount(g.Key.Source, g.Key.Type, g.Key.Event, g.Key.Property, g.Key.Kind, g.Sum(r => r.Count)))
        .OrderByDescending(c => c.Count).ThenBy(c => c.Source, StringComparer.Ordinal).ThenBy(c => c.Event, StringComparer.Ordinal)
        .ThenBy(c => c.Property, StringComparer.Ordinal).ThenBy(c => c.Kind, StringComparer.Ordinal).ToList();

    /// <summary>Compiles every plan of <c>Cdp:TrackingPlans</c>; the failures name the setting (and the place in the plan).</summary>
    public static (Dictionary<string, TrackingPlan> Plans, List<string> Failures) Load(IConfiguration configuration, string contentRoot)
    {
        var plans = new Dictionary<string, TrackingPlan>(StringComparer.Ordinal);
        var failures = new List<string>();
        foreach (var section in configuration.GetSection(Section).GetChildren())
        {
            var setting = $"{Section}:{section.Key}";
            try
            {
                JsonNode? document;
                if (section["File"] is { } file)
                {
                    if (string.IsNullOrWhiteSpace(file)) { failures.Add($"{setting}:File: is empty; name the plan's JSON file"); continue; }
                    var path = Path.IsPathRooted(file) ? file : Path.Combine(contentRoot, file);
                    if (!File.Exists(path)) { failures.Add($"{setting}:File: '{path}' does not exist"); continue; }
                    try
                    {
                        document = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
                    }
                    catch (JsonException ex)
                    {
                        failures.Add($"{setting}:File: '{path}' is not valid JSON: {ex.Message}");
                        continue;
                    }
                }
                else
                {
                    document = Inline(section);
                }
                using var parsed = JsonDocument.Parse(document?.ToJsonString() ?? "null");
                plans[section.Key] = TrackingPlan.Parse(section.Key, parsed.RootElement);
            }
            catch (TrackingPlanException ex)
            {
                failures.Add($"{setting}: {ex.Message}");
            }
            catch (IOException ex)
            {
                failures.Add($"{setting}:File: cannot be read: {ex.Message}");
            }
            catch (UnauthorizedAccessException ex)
            {
                failures.Add($"{setting}:File: cannot be read: {ex.Message}");
            }
        }
        return (plans, failures);
    }

    /// <summary>
    /// A plan written in appsettings, back to JSON: a section whose keys are 0, 1, 2... is an array; "true"/"false" and
    /// numbers are read as such (configuration keeps every value as text), everything else is a string.
    /// </summary>
    internal static JsonNode? Inline(IConfigurationSection section)
    {
        var children = section.GetChildren().ToList();
        if (children.Count == 0) return section.Value is null ? null : Scalar(section.Value);
        var indexes = children.Select(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : -1).ToList();
        if (indexes.All(i => i >= 0) && indexes.Order().SequenceEqual(Enumerable.Range(0, children.Count)))
            return new JsonArray(children.OrderBy(c => int.Parse(c.Key, CultureInfo.InvariantCulture)).Select(Inline).ToArray());
        var o = new JsonObject();
        foreach (var c in children) o[c.Key] = Inline(c);
        return o;
    }

    private static JsonNode Scalar(string text)
    {
        if (text is "true" or "false") return JsonValue.Create(text == "true");
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            && (text == d.ToString("R", CultureInfo.InvariantCulture) || (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) && text == l.ToString(CultureInfo.InvariantCulture))))
            return JsonNode.Parse(text)!;
        return JsonValue.Create(text);
    }
}

/// <summary>
/// Every plan of <c>Cdp:TrackingPlans</c> compiled once, with the failures of those that do not compile: the start's
/// validation (<see cref="TrackingPlanSettingsRules"/>) and the catalogue share it.
/// </summary>
[Service]
internal sealed class CompiledTrackingPlans(IConfiguration configuration, IHostEnvironment environment)
{
    private readonly Lazy<(Dictionary<string, TrackingPlan> Plans, List<string> Failures)> _loaded =
        new(() => TrackingPlanCatalogue.Load(configuration, environment.ContentRootPath));

    public IReadOnlyDictionary<string, TrackingPlan> Plans => _loaded.Value.Plans;

    /// <summary>Each as "Cdp:TrackingPlans:&lt;plan&gt;[:File]: why".</summary>
    public IReadOnlyList<string> Failures => _loaded.Value.Failures;
}

/// <summary>
/// Refuses the start (and fails <c>check-config</c>) on a plan that does not compile, a source naming a plan that does not
/// exist, or a plan on a source that is not a Segment source.
/// </summary>
internal sealed class TrackingPlanSettingsRules(CompiledTrackingPlans compiled, IConfiguration configuration) : IValidateOptions<SourcesOptions>
{
    public ValidateOptionsResult Validate(string? name, SourcesOptions options)
    {
        var plans = compiled.Plans;
        var failures = compiled.Failures.ToList();
        var broken = new HashSet<string>(configuration.GetSection(TrackingPlanCatalogue.Section).GetChildren().Select(c => c.Key).Where(k => !plans.ContainsKey(k)), StringComparer.Ordinal);
        foreach (var (source, o) in options)
        {
            if (string.IsNullOrWhiteSpace(o.TrackingPlan)) continue;
            if (o.ParsedKind is not (null or Webhooks.SourceKind.Segment))
                failures.Add($"{SourcesOptions.Section}:{source}:TrackingPlan: tracking plans check Segment sources (write key on /v1) only; '{source}' is a {o.Kind} webhook");
            else if (!plans.ContainsKey(o.TrackingPlan) && !broken.Contains(o.TrackingPlan))
                failures.Add($"{SourcesOptions.Section}:{source}:TrackingPlan: '{o.TrackingPlan}' is not a plan of {TrackingPlanCatalogue.Section}" +
                    (plans.Count == 0 ? " (none is defined)" : $" (defined: {string.Join(", ", plans.Keys)})"));
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// appsettings section <c>Cdp:TrackingPlans</c> as options see it: each plan's <c>File</c>. An inline plan's other keys
/// (events, schemas) are read as JSON by <see cref="TrackingPlanCatalogue.Load"/>, which also checks every plan at start.
/// </summary>
internal sealed class TrackingPlansOptions() : Dictionary<string, TrackingPlanFileOptions>(StringComparer.Ordinal);

internal sealed class TrackingPlanFileOptions
{
    /// <summary>The plan's JSON file, relative to the folder of appsettings.json (or absolute); empty = the plan is written inline.</summary>
    public string File { get; set; } = "";
}

/// <summary>The plans themselves are compiled and checked by <see cref="TrackingPlanSettingsRules"/>; nothing to add here.</summary>
internal sealed class TrackingPlansOptionsValidator : FluentValidation.AbstractValidator<TrackingPlansOptions>;
