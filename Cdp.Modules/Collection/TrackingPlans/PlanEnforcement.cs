using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cdp.Modules.Collection.TrackingPlans;

/// <summary>What a source's plan makes of one call: its violations, whether it is blocked, and its JSON with the omitted keys gone (Omit).</summary>
internal sealed record PlanOutcome(IReadOnlyList<PlanViolation> Violations, bool Blocked, byte[]? Rewritten);

/// <summary>Applies a source's <see cref="SourcePlan"/> to a call that passed the Segment spec's checks (on the request thread).</summary>
internal static class PlanEnforcement
{
    private static readonly JsonSerializerOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Null when the call has nothing to record; <paramref name="normalised"/> is the call as the log would store it.</summary>
    public static PlanOutcome? Apply(SourcePlan plan, JsonElement call, JsonElement envelopeContext, byte[] normalised, string? routeType = null)
    {
        var found = plan.Plan.Check(call, envelopeContext, routeType);
        if (found.Count == 0) return null;
        if (found[0].Kind == ViolationKinds.UnplannedEvent)
        {
            return plan.OnUnplannedEvent switch
            {
                UnplannedEventAction.Allow => null,
                UnplannedEventAction.Block => new PlanOutcome(found, true, null),
                _ => new PlanOutcome(found, false, null),
            };
        }
        return plan.OnViolation switch
        {
            ViolationAction.Block => new PlanOutcome(found, true, null),
            ViolationAction.Omit when found.Any(v => v.Omittable is not null) => new PlanOutcome(found, false, Omit(normalised, found)),
            _ => new PlanOutcome(found, false, null),
        };
    }

    /// <summary>The stored call without the keys the violations name (properties, traits, context.traits).</summary>
    private static byte[] Omit(byte[] json, IReadOnlyList<PlanViolation> violations)
    {
        var call = JsonNode.Parse(json)!.AsObject();
        foreach (var (area, key) in violations.Where(v => v.Omittable is not null).Select(v => v.Omittable!.Value))
        {
            var target = area switch
            {
                "properties" => call["properties"] as JsonObject,
                "traits" => call["traits"] as JsonObject,
                "context.traits" => (call["context"] as JsonObject)?["traits"] as JsonObject,
                _ => null,
            };
            target?.Remove(key);
        }
        return JsonSerializer.SerializeToUtf8Bytes(call, Output);
    }
}
