using System.Text.Json;
using System.Text.RegularExpressions;
using Json.Schema;

namespace Cdp.Modules.Collection.TrackingPlans;

/// <summary>What is wrong with one call against its source's plan.</summary>
internal static class ViolationKinds
{
    /// <summary>A track event the plan does not list (<see cref="PlanViolation.Property"/> is empty).</summary>
    public const string UnplannedEvent = "unplanned_event";

    /// <summary>A top-level key of properties / traits / context.traits the schema does not list.</summary>
    public const string UnplannedProperty = "unplanned_property";

    /// <summary>A value the schema refuses (its type, format, range, enum, a nested rule...).</summary>
    public const string InvalidProperty = "invalid_property";

    /// <summary>A name the schema's <c>required</c> lists that the call does not carry.</summary>
    public const string MissingProperty = "missing_property";

    public static readonly string[] All = [UnplannedEvent, UnplannedProperty, InvalidProperty, MissingProperty];
}

/// <summary>
/// One violation: its kind, the property ("properties.clinic", "traits.email", "context.traits.plan"; the area itself when
/// the whole object is refused; empty for an unplanned event), a sentence for people and the offending value (undefined
/// when there is none, e.g. a missing property). The value is the caller's: only <see cref="ViolationExample"/> of it is kept.
/// </summary>
internal sealed record PlanViolation(string Kind, string Property, string Message, JsonElement Value = default)
{
    /// <summary>The top-level key in its area this violation lets <c>Omit</c> remove (null when there is none to remove).</summary>
    public (string Area, string Key)? Omittable { get; init; }
}

/// <summary>A plan that cannot be used: the message names the plan and the place in it.</summary>
internal sealed class TrackingPlanException(string message) : Exception(message);

/// <summary>
/// A tracking plan, compiled once: each planned track event with its JSON Schemas (properties, context.traits), the
/// identify traits and the group traits. <see cref="Check"/> runs on the request thread for each call of a source that
/// points at the plan, so it reads the call as it came (a <see cref="JsonElement"/>) and asks the schema library for
/// details only when the quick yes/no answer is no.
/// </summary>
internal sealed class TrackingPlan
{
    private static readonly EvaluationOptions FlagOnly = new() { OutputFormat = OutputFormat.Flag, RequireFormatValidation = true };
    private static readonly EvaluationOptions Detailed = new() { OutputFormat = OutputFormat.List, RequireFormatValidation = true };

    private readonly Dictionary<string, PlannedEvent> _events;

    private TrackingPlan(string name, string description, Dictionary<string, PlannedEvent> events, Area? identify, Area? group)
    {
        Name = name;
        Description = description;
        _events = events;
        IdentifyTraits = identify;
        GroupTraits = group;
    }

    public string Name { get; }

    public string Description { get; }

    public IReadOnlyDictionary<string, PlannedEvent> Events => _events;

    public Area? IdentifyTraits { get; }

    public Area? GroupTraits { get; }

    /// <summary>A planned track event: its description and the schemas of its properties and context.traits (null: not checked).</summary>
    internal sealed record PlannedEvent(string Name, string Description, Area? Properties, Area? ContextTraits);

    /// <summary>
    /// One checked object (an event's properties, its context.traits, identify or group traits): the compiled schema, the
    /// top-level names it plans (null: it lists none, so no key is unplanned), its pattern properties and required names.
    /// </summary>
    internal sealed class Area
    {
        public required string Path { get; init; }
        public required JsonSchema Schema { get; init; }

        /// <summary>The shortcut for valid calls (null: the schema uses keywords only the library checks).</summary>
        public QuickAccept? Quick { get; init; }
        public HashSet<string>? Planned { get; init; }
        public Regex[] Patterns { get; init; } = [];
        public string[] Required { get; init; } = [];

        /// <summary>Whether <paramref name="key"/> is listed (or matches a pattern), i.e. not unplanned.</summary>
        public bool Plans(string key) => Planned is null || Planned.Contains(key) || Patterns.Any(p => p.IsMatch(key));

        /// <summary>The schema as written (its "properties" are walked for nested names).</summary>
        public required JsonElement Raw { get; init; }

        /// <summary>Whether the schema plans <paramref name="dotted"/>: "order.total" walks into nested "properties"; a level that lists nothing plans everything below it.</summary>
        public bool PlansPath(string dotted)
        {
            var parts = dotted.Split('.');
            if (!Plans(parts[0])) return false;
            var node = Raw;
            foreach (var part in parts)
            {
                if (node.ValueKind != JsonValueKind.Object || Lists(node) is not { } props) return true;
                if (!props.TryGetProperty(part, out node)) return false;
            }
            return true;
        }

        /// <summary>The "properties" a schema level lists, or null when it plans any key (none listed, a pattern, or additionalProperties: true).</summary>
        private static JsonElement? Lists(JsonElement schema) =>
            schema.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object
            && !(schema.TryGetProperty("additionalProperties", out var ap) && ap.ValueKind == JsonValueKind.True)
            && !schema.TryGetProperty("patternProperties", out _) ? props : null;
    }

    /// <summary>Compiles a plan document (see README.md in this folder); throws <see cref="TrackingPlanException"/> naming the place.</summary>
    public static TrackingPlan Parse(string name, JsonElement plan)
    {
        if (plan.ValueKind != JsonValueKind.Object) throw new TrackingPlanException($"plan '{name}' must be a JSON object with \"events\"");
        var description = plan.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
        var events = new Dictionary<string, PlannedEvent>(StringComparer.Ordinal);
        if (plan.TryGetProperty("events", out var list))
        {
            if (list.ValueKind != JsonValueKind.Object) throw new TrackingPlanException($"plan '{name}': \"events\" must be an object of event name to its definition");
            foreach (var e in list.EnumerateObject())
            {
                if (string.IsNullOrWhiteSpace(e.Name)) throw new TrackingPlanException($"plan '{name}': an event name is empty");
                if (e.Value.ValueKind != JsonValueKind.Object) throw new TrackingPlanException($"plan '{name}': events.{e.Name} must be an object (description, properties, contextTraits)");
                var about = e.Value.TryGetProperty("description", out var ed) && ed.ValueKind == JsonValueKind.String ? ed.GetString()! : "";
                events[e.Name] = new PlannedEvent(e.Name, about,
                    Compile(name, $"events.{e.Name}.properties", "properties", e.Value, "properties"),
                    Compile(name, $"events.{e.Name}.contextTraits", "context.traits", e.Value, "contextTraits"));
            }
        }
        return new TrackingPlan(name, description, events,
            Compile(name, "identifyTraits", "traits", plan, "identifyTraits"),
            Compile(name, "groupTraits", "traits", plan, "groupTraits"));
    }

    private static Area? Compile(string plan, string where, string path, JsonElement parent, string key)
    {
        if (!parent.TryGetProperty(key, out var schema) || schema.ValueKind == JsonValueKind.Null) return null;
        if (schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False))
            throw new TrackingPlanException($"plan '{plan}': {where} must be a JSON Schema (an object)");
        JsonSchema compiled;
        try
        {
            compiled = JsonSchema.FromText(schema.GetRawText());
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException or FormatException or NotSupportedException)
        {
            throw new TrackingPlanException($"plan '{plan}': {where} is not a valid JSON Schema: {ex.Message}");
        }
        HashSet<string>? planned = null;
        var patterns = new List<Regex>();
        var required = new List<string>();
        if (schema.ValueKind == JsonValueKind.Object)
        {
            var additionalAllowed = schema.TryGetProperty("additionalProperties", out var ap) && ap.ValueKind == JsonValueKind.True;
            if (schema.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object && !additionalAllowed)
                planned = new HashSet<string>(props.EnumerateObject().Select(p => p.Name), StringComparer.Ordinal);
            if (schema.TryGetProperty("patternProperties", out var pp) && pp.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in pp.EnumerateObject())
                {
                    try { patterns.Add(new Regex(p.Name, RegexOptions.ECMAScript | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50))); }
                    catch (ArgumentException ex) { throw new TrackingPlanException($"plan '{plan}': {where}.patternProperties '{p.Name}' is not a regular expression: {ex.Message}"); }
                }
                planned ??= [];
            }
            if (schema.TryGetProperty("required", out var req) && req.ValueKind == JsonValueKind.Array)
                required.AddRange(req.EnumerateArray().Where(r => r.ValueKind == JsonValueKind.String).Select(r => r.GetString()!));
        }
        return new Area { Path = path, Raw = schema.Clone(), Schema = compiled, Quick = QuickAccept.Compile(schema), Planned = planned, Patterns = [.. patterns], Required = [.. required] };
    }

    /// <summary>
    /// The violations of one Segment call (as it came, or as the log keeps it): track events against the planned events,
    /// identify and group traits against their schemas. Page, screen and alias calls are not checked.
    /// <paramref name="envelopeContext"/> is a batch's own context, whose traits a call without context.traits inherits;
    /// <paramref name="routeType"/> the type a single call's path gives (/v1/track), which its body need not repeat.
    /// </summary>
    public IReadOnlyList<PlanViolation> Check(JsonElement call, JsonElement envelopeContext = default, string? routeType = null)
    {
        if (call.ValueKind != JsonValueKind.Object) return [];
        // a single call (/v1/track) takes its type from the route; a batch item and a logged call carry it
        var type = routeType ?? (call.TryGetProperty("type"u8, out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null);
        List<PlanViolation>? found = null;
        if (type == "track")
        {
            var name = call.TryGetProperty("event"u8, out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
            if (!_events.TryGetValue(name, out var planned))
                return [new PlanViolation(ViolationKinds.UnplannedEvent, "", $"'{name}' is not an event of tracking plan '{Name}'")];
            if (planned.Properties is { } properties) Check(properties, call.TryGetProperty("properties"u8, out var p) ? p : default, ref found);
            if (planned.ContextTraits is { } contextTraits) Check(contextTraits, ContextTraits(call, envelopeContext), ref found);
        }
        else if (type == "identify" && IdentifyTraits is { } identify)
        {
            Check(identify, call.TryGetProperty("traits"u8, out var traits) ? traits : default, ref found);
        }
        else if (type == "group" && GroupTraits is { } group)
        {
            Check(group, call.TryGetProperty("traits"u8, out var traits) ? traits : default, ref found);
        }
        return found ?? (IReadOnlyList<PlanViolation>)[];
    }

    /// <summary>The call's context.traits, else the batch's (a call's own context replaces the batch's traits as the log stores it).</summary>
    private static JsonElement ContextTraits(JsonElement call, JsonElement envelopeContext)
    {
        if (call.TryGetProperty("context"u8, out var c) && c.ValueKind == JsonValueKind.Object && c.TryGetProperty("traits"u8, out var own)) return own;
        return envelopeContext.ValueKind == JsonValueKind.Object && envelopeContext.TryGetProperty("traits"u8, out var inherited) ? inherited : default;
    }

    private void Check(Area area, JsonElement value, ref List<PlanViolation>? found)
    {
        // absent or null: checked as an empty object (so "required" still counts)
        var instance = value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? EmptyObject : value;
        if (instance.ValueKind != JsonValueKind.Object)
        {
            (found ??= []).Add(new PlanViolation(ViolationKinds.InvalidProperty, area.Path, $"{area.Path} must be an object (was {instance.ValueKind.ToString().ToLowerInvariant()})", instance));
            return;
        }
        HashSet<string>? unplanned = null;
        if (area.Planned is not null)
        {
            foreach (var p in instance.EnumerateObject())
            {
                if (area.Plans(p.Name)) continue;
                (unplanned ??= new HashSet<string>(StringComparer.Ordinal)).Add(p.Name);
                (found ??= []).Add(new PlanViolation(ViolationKinds.UnplannedProperty, area.Path + "." + p.Name,
                    $"{area.Path}.{p.Name} is not in tracking plan '{Name}'", p.Value) { Omittable = (area.Path, p.Name) });
            }
        }
        foreach (var r in area.Required)
        {
            if (!instance.TryGetProperty(r, out var present) || present.ValueKind == JsonValueKind.Undefined)
                (found ??= []).Add(new PlanViolation(ViolationKinds.MissingProperty, area.Path + "." + r, $"{area.Path}.{r} is required by tracking plan '{Name}'"));
        }
        if (area.Quick?.Accepts(instance) == true) return;
        EvaluationResults results;
        try
        {
            // the quick checker said no (nearly always a violation): straight to the details; else ask yes or no first
            if (area.Quick is null && area.Schema.Evaluate(instance, FlagOnly).IsValid) return;
            results = area.Schema.Evaluate(instance, Detailed);
            if (results.IsValid) return;
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or InvalidOperationException or ArgumentException or JsonException or RegexMatchTimeoutException)
        {
            // the library cannot read a value (e.g. 1e400 against a numeric bound): the value cannot be shown valid
            (found ??= []).Add(new PlanViolation(ViolationKinds.InvalidProperty, area.Path,
                $"{area.Path}: a value could not be checked against tracking plan '{Name}' ({ex.GetType().Name}: {ex.Message})", instance));
            return;
        }

        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var detail in Leaves(results))
        {
            var pointer = detail.InstanceLocation;
            if (pointer.Count == 0)
            {
                // the root's own failures: required and unplanned keys are reported above, by name
                var keywords = detail.Errors!.Keys.Where(k => k is not ("required" or "additionalProperties" or "unevaluatedProperties" or "properties" or "patternProperties")).ToList();
                if (keywords.Count == 0 || !reported.Add("")) continue;
                (found ??= []).Add(new PlanViolation(ViolationKinds.InvalidProperty, area.Path, $"{area.Path}: {detail.Errors[keywords[0]]}", instance));
                continue;
            }
            var key = pointer[0];
            if (unplanned?.Contains(key) == true || !reported.Add(key)) continue;
            var at = pointer.Count == 1 ? "" : " at " + string.Join('.', pointer.Skip(1));
            var message = detail.Errors!.Values.First();
            (found ??= []).Add(new PlanViolation(ViolationKinds.InvalidProperty, area.Path + "." + key,
                $"{area.Path}.{key}{at}: {message}", instance.TryGetProperty(key, out var v) ? v : default) { Omittable = (area.Path, key) });
        }
    }

    private static IEnumerable<EvaluationResults> Leaves(EvaluationResults results)
    {
        if (results.Errors is { Count: > 0 }) yield return results;
        if (results.Details is null) yield break;
        foreach (var d in results.Details)
            if (!d.IsValid && d.Errors is { Count: > 0 }) yield return d;
    }

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement;
}
