using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Collection.TrackingPlans;

/// <summary>
/// <c>cdp tracking-plan infer</c> (<see cref="ITrackingPlanInference"/>): pages through the event log from the first event
/// received at the start (a binary search on the sequence), feeds each call of the source to a <see cref="PlanDraft"/>
/// and writes the draft. Memory grows with the distinct event and property names, not with the log.
/// </summary>
[Service]
internal sealed class PlanInference(IEventLog log, SourceRegistry sources) : ITrackingPlanInference
{
    /// <summary>Log events per read.</summary>
    public const int PageSize = 1_000;

    /// <summary>
    /// The search for the first event starts this much before the start: commit times follow the sequence on one host, but
    /// on PostgreSQL several hosts' clocks number one log. Events before the start are read and skipped, never counted.
    /// </summary>
    private static readonly TimeSpan SeekMargin = TimeSpan.FromHours(1);

    public IReadOnlyList<string> Sources => [.. sources.Names.Order(StringComparer.Ordinal)];

    public InferredTrackingPlan Infer(string source, DateTime since, CancellationToken cancellationToken = default)
    {
        if (sources.ByName(source) is null)
            throw new ArgumentException($"unknown source '{source}': the configured sources (Cdp:Sources) are {string.Join(", ", Sources.Select(s => $"'{s}'"))}");
        var started = Stopwatch.GetTimestamp();
        since = since.ToUniversalTime();
        var draft = new PlanDraft();
        var last = log.LastSequence; // the log as it is now: events appended while reading are left for the next draft
        var after = FirstReceivedAtOrAfter(since - SeekMargin, last) - 1;
        long read = 0;
        while (after < last)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = log.ReadAfter(after, PageSize);
            if (page.Count == 0) break;
            foreach (var e in page)
            {
                if (e.Sequence > last) break;
                read++;
                if (e.ReceivedAt.ToUniversalTime() < since || !string.Equals(e.Source, source, StringComparison.Ordinal)) continue;
                using var call = JsonDocument.Parse(e.Json);
                draft.Add(call.RootElement);
            }
            after = page[^1].Sequence;
        }
        var about = $"Draft inferred by `tracking-plan infer` from {draft.Calls.ToString("N0", CultureInfo.InvariantCulture)} calls of source '{source}' " +
                    $"received since {since.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}: review it before a source points at it.";
        var plan = draft.ToPlan(about);
        return new InferredTrackingPlan(plan.ToJsonString(Written), read, draft.Calls, draft.TrackEvents, draft.NearDuplicates(), Stopwatch.GetElapsedTime(started));
    }

    /// <summary>The sequence of the first event received at or after <paramref name="at"/> (last + 1 when none), by binary search.</summary>
    private long FirstReceivedAtOrAfter(DateTime at, long last)
    {
        long lo = 1, hi = last + 1;
        while (lo < hi)
        {
            var mid = lo + (hi - lo) / 2;
            var one = log.ReadAfter(mid - 1, 1);
            if (one.Count == 0) hi = mid;
            else if (one[0].ReceivedAt.ToUniversalTime() < at) lo = one[0].Sequence + 1;
            else hi = mid;
        }
        return lo;
    }

    internal static readonly JsonSerializerOptions Written = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // a file for people: "near-duplicate of 'x'", names in any script, as they are
    };
}

/// <summary>
/// What the calls of one source looked like, added one at a time: per track event its calls and, per top-level property of
/// its properties and context.traits, how many calls carried it and with which JSON types; the same for identify and group
/// traits. <see cref="ToPlan"/> writes the draft plan.
/// </summary>
internal sealed class PlanDraft
{
    private readonly Dictionary<string, EventStats> _events = new(StringComparer.Ordinal);
    private readonly AreaStats _identify = new();
    private readonly AreaStats _group = new();

    /// <summary>Calls added, of every type.</summary>
    public long Calls { get; private set; }

    public int TrackEvents => _events.Count;

    public void Add(JsonElement call)
    {
        Calls++;
        if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("type"u8, out var type) || type.ValueKind != JsonValueKind.String) return;
        if (type.ValueEquals("track"u8))
        {
            if (!call.TryGetProperty("event"u8, out var name) || name.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(name.GetString())) return;
            var key = name.GetString()!;
            if (!_events.TryGetValue(key, out var stats)) _events[key] = stats = new EventStats();
            stats.Calls++;
            stats.Properties.Add(call.TryGetProperty("properties"u8, out var p) ? p : default);
            stats.ContextTraits.Add(call.TryGetProperty("context"u8, out var c) && c.ValueKind == JsonValueKind.Object && c.TryGetProperty("traits"u8, out var ct) ? ct : default);
        }
        else if (type.ValueEquals("identify"u8))
        {
            _identify.Add(call.TryGetProperty("traits"u8, out var t) ? t : default);
        }
        else if (type.ValueEquals("group"u8))
        {
            _group.Add(call.TryGetProperty("traits"u8, out var t) ? t : default);
        }
    }

    /// <summary>Near-duplicate track event names first, then near-duplicate property names of each schema, in plan order.</summary>
    public IReadOnlyList<NearDuplicateNames> NearDuplicates()
    {
        var found = new List<NearDuplicateNames>();
        found.AddRange(Groups(_events.Select(e => (e.Key, e.Value.Calls))).Select(g => Names("events", g)));
        foreach (var (name, stats) in Ordered(_events))
        {
            found.AddRange(stats.Properties.NearDuplicates().Select(g => Names($"events.{name}.properties", g)));
            found.AddRange(stats.ContextTraits.NearDuplicates().Select(g => Names($"events.{name}.contextTraits", g)));
        }
        found.AddRange(_identify.NearDuplicates().Select(g => Names("identifyTraits", g)));
        found.AddRange(_group.NearDuplicates().Select(g => Names("groupTraits", g)));
        return found;

        static NearDuplicateNames Names(string where, IReadOnlyList<(string Name, long Calls)> group) =>
            new(where, [.. group.Select(n => n.Name)], [.. group.Select(n => n.Calls)]);
    }

    /// <summary>The draft plan: the README's format, plus "nearDuplicates" (groups of event names) and "nearDuplicateProperties".</summary>
    public JsonObject ToPlan(string description)
    {
        var plan = new JsonObject { ["description"] = description };
        var nearEvents = Groups(_events.Select(e => (e.Key, e.Value.Calls)));
        var near = NearDuplicates();
        plan["nearDuplicates"] = new JsonArray([.. nearEvents.Select(g => (JsonNode)new JsonArray([.. g.Select(n => (JsonNode)n.Name)]))]);
        plan["nearDuplicateProperties"] = new JsonArray([.. near.Where(n => n.Where != "events")
            .Select(n => (JsonNode)new JsonObject { ["in"] = n.Where, ["names"] = new JsonArray([.. n.Names.Select(x => (JsonNode)x)]) })]);

        var alike = nearEvents.SelectMany(g => g.Select(n => (n.Name, Group: g))).ToDictionary(x => x.Name, x => x.Group, StringComparer.Ordinal);
        var events = new JsonObject();
        foreach (var (name, stats) in Ordered(_events))
        {
            var notes = new List<string> { $"seen in {Figure(stats.Calls)} {CallWord(stats.Calls)}" };
            if (alike.TryGetValue(name, out var group))
                notes.AddRange(group.Where(n => n.Name != name).Select(n => $"near-duplicate of '{n.Name}' ({Figure(n.Calls)} {CallWord(n.Calls)})"));
            var definition = new JsonObject();
            if (stats.Properties.Schema(notes, "properties") is { } properties) definition["properties"] = properties;
            if ((stats.ContextTraits.Seen > 0 || stats.ContextTraits.NotAnObject is not null) && stats.ContextTraits.Schema(notes, "context.traits") is { } contextTraits) definition["contextTraits"] = contextTraits;
            definition.Insert(0, "description", string.Join("; ", notes));
            events[name] = definition;
        }
        plan["events"] = events;
        var planNotes = new List<string>(); // the top-level areas' notes go to the plan's description
        if (_identify.Calls > 0 && _identify.Schema(planNotes, "identify traits") is { } identifyTraits) plan["identifyTraits"] = identifyTraits;
        if (_group.Calls > 0 && _group.Schema(planNotes, "group traits") is { } groupTraits) plan["groupTraits"] = groupTraits;
        if (planNotes.Count > 0) plan["description"] = string.Join("; ", planNotes.Prepend(description));
        return plan;
    }

    private static IEnumerable<KeyValuePair<string, T>> Ordered<T>(Dictionary<string, T> map) => map.OrderBy(kv => kv.Key, StringComparer.Ordinal);

    /// <summary>The key names are compared by: lower-cased, letters and digits only ("Appointment Booked" = "appointment_booked").</summary>
    internal static string Folded(string name)
    {
        Span<char> buffer = name.Length <= 256 ? stackalloc char[name.Length] : new char[name.Length];
        var n = 0;
        foreach (var c in name)
            if (char.IsLetterOrDigit(c)) buffer[n++] = char.ToLowerInvariant(c);
        return new string(buffer[..n]);
    }

    /// <summary>Groups of two or more names that fold alike (a name with no letter or digit is never grouped), most calls first.</summary>
    internal static List<List<(string Name, long Calls)>> Groups(IEnumerable<(string Name, long Calls)> names) =>
        [.. names.GroupBy(n => Folded(n.Name), StringComparer.Ordinal)
            .Where(g => g.Key.Length > 0 && g.Count() > 1)
            .Select(g => g.OrderByDescending(n => n.Calls).ThenBy(n => n.Name, StringComparer.Ordinal).ToList())
            .OrderBy(g => g[0].Name, StringComparer.Ordinal)];

    internal static string Figure(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string CallWord(long n) => n == 1 ? "call" : "calls";

    /// <summary>"100%" only when every call, "&lt;1%" rather than 0% when some.</summary>
    internal static string Share(long part, long whole)
    {
        if (part >= whole) return "100%";
        var percent = part * 100 / whole;
        return percent == 0 ? "<1%" : percent.ToString(CultureInfo.InvariantCulture) + "%";
    }

    private sealed class EventStats
    {
        public long Calls;
        public readonly AreaStats Properties = new();
        public readonly AreaStats ContextTraits = new();
    }

    [Flags]
    private enum JsonTypes
    {
        None = 0,
        String = 1,
        Number = 2,
        Boolean = 4,
        Object = 8,
        Array = 16,
        Null = 32,
    }

    private static readonly (JsonTypes Type, string Name)[] TypeNames =
        [(JsonTypes.String, "string"), (JsonTypes.Number, "number"), (JsonTypes.Boolean, "boolean"), (JsonTypes.Object, "object"), (JsonTypes.Array, "array"), (JsonTypes.Null, "null")];

    private static JsonTypes TypeOf(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => JsonTypes.String,
        JsonValueKind.Number => JsonTypes.Number, // "integer" folded into "number": 3 and 3.5 are one property's values
        JsonValueKind.True or JsonValueKind.False => JsonTypes.Boolean,
        JsonValueKind.Object => JsonTypes.Object,
        JsonValueKind.Array => JsonTypes.Array,
        JsonValueKind.Null => JsonTypes.Null,
        _ => JsonTypes.None,
    };

    private sealed class PropertyStats
    {
        public long Count;
        public long LastCall;
        public JsonTypes Types;
    }

    /// <summary>One checked object over the calls: an event's properties or context.traits, identify or group traits.</summary>
    private sealed class AreaStats
    {
        private readonly Dictionary<string, PropertyStats> _properties = new(StringComparer.Ordinal);

        /// <summary>Calls whose area was looked at (absent or null counts: the plan checks it as an empty object).</summary>
        public long Calls;

        /// <summary>Calls that carried the area as an object.</summary>
        public long Seen;

        /// <summary>The kind of a value that was not an object (which no schema of the plan lets through), when one was.</summary>
        public JsonValueKind? NotAnObject;

        public void Add(JsonElement value)
        {
            Calls++;
            if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return;
            if (value.ValueKind != JsonValueKind.Object)
            {
                NotAnObject ??= value.ValueKind;
                return;
            }
            Seen++;
            foreach (var p in value.EnumerateObject())
            {
                if (!_properties.TryGetValue(p.Name, out var stats)) _properties[p.Name] = stats = new PropertyStats();
                if (stats.LastCall != Calls) // a name repeated in one call counts once
                {
                    stats.LastCall = Calls;
                    stats.Count++;
                }
                stats.Types |= TypeOf(p.Value.ValueKind);
            }
        }

        public List<List<(string Name, long Calls)>> NearDuplicates() => Groups(_properties.Select(p => (p.Key, p.Value.Count)));

        /// <summary>
        /// The schema: every name seen with its types and a description of how often, "required" the names of every call.
        /// Null, with a note, when some call sent the area as something else than an object: the plan would refuse that call
        /// whatever its schema says, so the draft leaves the area unchecked.
        /// </summary>
        public JsonObject? Schema(List<string> notes, string area)
        {
            if (NotAnObject is { } kind)
            {
                notes.Add($"{area} not planned: some calls sent it as {kind.ToString().ToLowerInvariant()}, not an object");
                return null;
            }
            var alike = NearDuplicates().SelectMany(g => g.Select(n => (n.Name, Group: g))).ToDictionary(x => x.Name, x => x.Group, StringComparer.Ordinal);
            var properties = new JsonObject();
            foreach (var (name, stats) in Ordered(_properties))
            {
                var types = TypeNames.Where(t => stats.Types.HasFlag(t.Type)).Select(t => t.Name).ToList();
                var about = $"seen in {Share(stats.Count, Calls)} of {Figure(Calls)} {CallWord(Calls)}";
                if (alike.TryGetValue(name, out var group))
                    about += string.Concat(group.Where(n => n.Name != name).Select(n => $"; near-duplicate of '{n.Name}' ({Figure(n.Calls)} {CallWord(n.Calls)})"));
                properties[name] = new JsonObject
                {
                    ["type"] = types.Count == 1 ? (JsonNode)types[0] : new JsonArray([.. types.Select(t => (JsonNode)t)]),
                    ["description"] = about,
                };
            }
            return new JsonObject
            {
                ["type"] = "object",
                ["properties"] = properties,
                ["required"] = new JsonArray([.. _properties.Where(p => p.Value.Count == Calls).Select(p => p.Key).Order(StringComparer.Ordinal).Select(n => (JsonNode)n)]),
            };
        }
    }
}
