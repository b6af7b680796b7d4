using System.Text.Json;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Cdp.Modules.Collection.TrackingPlans;

/// <summary>GET /api/tracking-plans (the plans and their sources) and GET /api/tracking-plans/violations.</summary>
internal static class TrackingPlanEndpoints
{
    public const int MaxRows = 500;

    public static readonly IReadOnlyDictionary<string, (TimeSpan Range, TimeSpan Bucket)> Ranges = new Dictionary<string, (TimeSpan, TimeSpan)>
    {
        ["24h"] = (TimeSpan.FromHours(24), TimeSpan.FromHours(1)),
        ["7d"] = (TimeSpan.FromDays(7), TimeSpan.FromHours(6)),
        ["30d"] = (TimeSpan.FromDays(30), TimeSpan.FromDays(1)),
    };

    public static void Map(IEndpointRouteBuilder group)
    {
        group.MapGet("", (TrackingPlanCatalogue catalogue) => TypedResults.Ok(new PlanList(catalogue.Plans.Values.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => new PlanJson(
                p.Name, p.Description,
                p.Events.Values.OrderBy(e => e.Name, StringComparer.Ordinal).Select(e => new PlannedEventJson(e.Name, e.Description, e.Properties?.Required ?? [],
                    e.Properties?.Planned?.Order(StringComparer.Ordinal).ToList(), e.ContextTraits is not null)).ToList(),
                p.IdentifyTraits?.Planned?.Order(StringComparer.Ordinal).ToList(), p.GroupTraits?.Planned?.Order(StringComparer.Ordinal).ToList(),
                catalogue.Sources.Where(s => s.Plan == p).OrderBy(s => s.Source, StringComparer.Ordinal)
                    .Select(s => new PlanSourceJson(s.Source, s.OnViolation.ToString(), s.OnUnplannedEvent.ToString())).ToList()))
            .ToList())))
            .WithSummary("The tracking plans of Cdp:TrackingPlans: their events, planned property names and the sources checked against each");

        group.MapGet("/violations", Results<Ok<ViolationReport>, ProblemHttpResult> (ViolationLog violations, TimeProvider clock,
            string? range, string? source, string? @event, string? kind) =>
        {
            var r = string.IsNullOrEmpty(range) ? "24h" : range;
            if (!Ranges.TryGetValue(r, out var span))
                return TypedResults.Problem(title: "Unknown range", detail: $"range must be one of {string.Join(", ", Ranges.Keys)}", statusCode: 400);
            if (!string.IsNullOrEmpty(kind) && !ViolationKinds.All.Contains(kind))
                return TypedResults.Problem(title: "Unknown kind", detail: $"kind must be one of {string.Join(", ", ViolationKinds.All)}", statusCode: 400);
            return TypedResults.Ok(Report(violations, clock.GetUtcNow().UtcDateTime, r, span.Range, span.Bucket, source, @event, kind));
        }).WithSummary("Violations of the sources' tracking plans over the last 24h (hourly), 7d (6 h) or 30d (daily): counts per source, event, property and kind " +
            "with the latest example (values masked); filters: source, event, kind");
    }

    private static ViolationReport Report(ViolationLog log, DateTime now, string name, TimeSpan range, TimeSpan bucket, string? source, string? @event, string? kind)
    {
        var from = new DateTime((now - range).Ticks / TimeSpan.TicksPerHour * TimeSpan.TicksPerHour, DateTimeKind.Utc);
        var rows = log.Rows(from).Where(r => (string.IsNullOrEmpty(source) || r.Source == source) && (string.IsNullOrEmpty(@event) || r.Event == @event)
            && (string.IsNullOrEmpty(kind) || r.Kind == kind)).ToList();
        var firstBucket = from.Ticks / bucket.Ticks;
        var lastBucket = now.Ticks / bucket.Ticks;
        var counts = new long[lastBucket - firstBucket + 1];
        foreach (var row in rows)
        {
            var b = row.Hour * TimeSpan.TicksPerHour / bucket.Ticks - firstBucket;
            if (b >= 0 && b < counts.Length) counts[b] += row.Count;
        }
        var groups = rows.GroupBy(r => (r.Source, r.Type, r.Event, r.Property, r.Kind)).Select(g =>
        {
            var latest = g.MaxBy(r => r.LastAtTicks)!;
            return new ViolationJson(g.Key.Source, g.Key.Type, g.Key.Event, g.Key.Property, g.Key.Kind, g.Sum(r => r.Count),
                new DateTime(latest.LastAtTicks, DateTimeKind.Utc), Example(latest.Example));
        }).OrderByDescending(v => v.Count).ThenBy(v => v.Source, StringComparer.Ordinal).ThenBy(v => v.Event, StringComparer.Ordinal)
            .ThenBy(v => v.Property, StringComparer.Ordinal).ThenBy(v => v.Kind, StringComparer.Ordinal).ToList();
        return new ViolationReport(name, from, now, rows.Sum(r => r.Count),
            ViolationKinds.All.ToDictionary(k => k, k => rows.Where(r => r.Kind == k).Sum(r => r.Count)),
            Enumerable.Range(0, counts.Length).Select(i => new ViolationBucket(new DateTime((firstBucket + i) * bucket.Ticks, DateTimeKind.Utc), counts[i])).ToList(),
            groups.Count, groups.Take(MaxRows).ToList());
    }

    private static JsonElement Example(string json)
    {
        try { return JsonDocument.Parse(json).RootElement.Clone(); }
        catch (JsonException) { return default; }
    }
}

internal sealed record PlanList(IReadOnlyList<PlanJson> Plans);

internal sealed record PlanJson(string Name, string Description, IReadOnlyList<PlannedEventJson> Events, IReadOnlyList<string>? IdentifyTraits,
    IReadOnlyList<string>? GroupTraits, IReadOnlyList<PlanSourceJson> Sources);

/// <summary>A planned event; <see cref="Properties"/> null = its properties are not listed (any is planned).</summary>
internal sealed record PlannedEventJson(string Name, string Description, IReadOnlyList<string> Required, IReadOnlyList<string>? Properties, bool ChecksContextTraits);

internal sealed record PlanSourceJson(string Source, string OnViolation, string OnUnplannedEvent);

internal sealed record ViolationReport(string Range, DateTime From, DateTime To, long Total, IReadOnlyDictionary<string, long> ByKind,
    IReadOnlyList<ViolationBucket> Buckets, int Distinct, IReadOnlyList<ViolationJson> Violations);

internal sealed record ViolationBucket(DateTime Start, long Count);

internal sealed record ViolationJson(string Source, string Type, string Event, string Property, string Kind, long Count, DateTime LastSeen, JsonElement Example);

/// <summary>cdp_tracking_plan_violations_total{source, kind}: violations recorded by this host since start.</summary>
[Service]
internal sealed class TrackingPlanMetrics(ViolationLog log) : IMetricsSource
{
    public void Register(CdpMetrics m) => m.Counter("cdp_tracking_plan_violations_total",
        "Tracking plan violations recorded since start (stored, omitted or blocked calls), per source and kind.",
        () => log.Totals.Select(t => ((IReadOnlyList<(string, string)>)[("source", t.Key.Source), ("kind", t.Key.Kind)], t.Count)));
}
