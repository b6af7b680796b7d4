using System.Text.Json;
using Cdp.Modules.Profiles.Contracts;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// Per-purpose consent on a profile: { purpose: { g: granted, t: event timestamp ticks, s: source } }, purposes lower-case.
/// Read from Segment's context.consent.categoryPreferences ({"Advertising": true, ...}) and from the traits mapped in
/// Cdp:Profiles:ConsentTraits. The latest statement (event timestamp) wins; at an equal timestamp the later event wins.
/// Each statement also keeps <c>v</c>: the Cdp source (Cdp:Sources name) of the event that made it, e.g. the SendGrid webhook
/// whose unsubscribe revoked marketing, so the profile shows where a revocation came from.
/// </summary>
internal static class ConsentSet
{
    public const string FromContext = "context.consent";

    public static void Apply(TreeDocument consent, JsonElement payload, IReadOnlyDictionary<string, string> traitPurposes, long ticks, ProfileLimits limits, SkipSink skips, string via = "")
    {
        if (payload.TryGetProperty("context", out var ctx) && ctx.ValueKind == JsonValueKind.Object)
        {
            if (ctx.TryGetProperty("consent", out var c) && c.ValueKind == JsonValueKind.Object
                && c.TryGetProperty("categoryPreferences", out var prefs) && prefs.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in prefs.EnumerateObject())
                {
                    if (p.Name.Length == 0 || Granted(p.Value) is not { } granted) continue;
                    if (TraitBudget.BadKey(p.Name, limits) is { } bad) { skips.Add(SkippedValues.Consent, "context.consent.categoryPreferences: " + bad); continue; }
                    Set(consent, p.Name, granted, ticks, FromContext, via, limits, skips);
                }
            }
            if (traitPurposes.Count > 0 && ctx.TryGetProperty("traits", out var ct) && ct.ValueKind == JsonValueKind.Object)
                ApplyTraits(consent, ct, traitPurposes, ticks, via, limits, skips);
        }
        if (traitPurposes.Count > 0 && payload.TryGetProperty("type", out var t) && t.ValueEquals("identify")
            && payload.TryGetProperty("traits", out var traits) && traits.ValueKind == JsonValueKind.Object)
            ApplyTraits(consent, traits, traitPurposes, ticks, via, limits, skips);
    }

    private static void ApplyTraits(TreeDocument consent, JsonElement traits, IReadOnlyDictionary<string, string> traitPurposes, long ticks, string via, ProfileLimits limits, SkipSink skips)
    {
        foreach (var (trait, purpose) in traitPurposes)
            if (traits.TryGetProperty(trait, out var v) && Granted(v) is { } granted) Set(consent, purpose, granted, ticks, "trait:" + trait, via, limits, skips);
    }

    private static void Set(TreeDocument consent, string purpose, bool granted, long ticks, string source, string via, ProfileLimits limits, SkipSink skips)
    {
        var key = purpose.ToLowerInvariant();
        if (consent.TryGetValue(key, out var existing))
        {
            if (existing.IsDocument && Ticks(existing) > ticks) return;
        }
        else if (consent.Count >= limits.MaxConsentPurposes)
        {
            skips.Add(SkippedValues.Consent, $"{source}: purpose \"{SkippedValues.Cut(key)}\" over {limits.MaxConsentPurposes} purposes (MaxConsentPurposes)");
            return;
        }
        var statement = new TreeDocument { ["g"] = granted, ["t"] = ticks, ["s"] = source };
        if (via.Length > 0) statement["v"] = via;
        consent[key] = statement;
    }

    private static long Ticks(TreeValue statement) => statement.IsDocument && statement["t"].IsNumber ? statement["t"].AsInt64 : long.MinValue;

    /// <summary>The loser's statements win only when strictly newer; new purposes only while the winner has room.</summary>
    public static void Merge(TreeDocument consent, TreeDocument loser, ProfileLimits limits, SkipSink skips)
    {
        foreach (var (purpose, v) in loser)
        {
            if (!v.IsDocument) continue;
            if (consent.TryGetValue(purpose, out var mine))
            {
                if (Ticks(mine) < Ticks(v)) consent[purpose] = v;
            }
            else if (consent.Count < limits.MaxConsentPurposes) consent[purpose] = v;
            else skips.Add(SkippedValues.Consent, $"merge: purpose \"{SkippedValues.Cut(purpose)}\" over {limits.MaxConsentPurposes} purposes (MaxConsentPurposes)");
        }
    }

    /// <summary>true/"true"/"yes"/"granted"/1 grant; false/"false"/"no"/"denied"/0 and other present values deny; null says nothing.</summary>
    public static bool? Granted(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number => value.TryGetDouble(out var d) && d != 0,
        JsonValueKind.String => value.GetString()!.Trim().ToLowerInvariant() is "true" or "yes" or "y" or "1" or "granted" or "opted_in" or "opt-in" or "subscribed",
        _ => null,
    };

    public static IReadOnlyDictionary<string, ConsentState> View(TreeDocument consent) =>
        consent.Where(c => c.Value.IsDocument && c.Value["g"].IsBoolean && c.Value["t"].IsNumber && c.Value["s"].IsString
                && c.Value["t"].AsInt64 is >= 0 and <= 3_155_378_975_999_999_999) // DateTime's range
            .ToDictionary(c => c.Key, c => new ConsentState(c.Value["g"].AsBoolean, new DateTime(c.Value["t"].AsInt64, DateTimeKind.Utc), c.Value["s"].AsString)
            { Via = c.Value["v"].IsString ? c.Value["v"].AsString : null },
            StringComparer.Ordinal);
}
