using FluentValidation;

namespace Cdp.Modules.Profiles;

/// <summary>appsettings section <c>Cdp:Profiles</c>.</summary>
internal sealed class ProfilesOptions
{
    public const string Section = "Cdp:Profiles";

    /// <summary>Fewest events the processor reads per transaction when that many are waiting: the size while it keeps up.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// Most events per transaction: a batch takes the whole backlog (log head - checkpoint) between BatchSize and this,
    /// so a processor that falls behind (a backfill, a resume, a reprocess, a restart after downtime, a load its small
    /// batches cannot follow) catches up in big transactions. Bigger batches write far fewer pages per event (LiteDB
    /// writes every page a transaction changed), but hold the one-writer gate longer, which collection waits for.
    /// </summary>
    public int CatchUpBatchSize { get; set; } = 25_000;

    /// <summary>
    /// Longest a batch should hold the one-writer gate with its writes, in milliseconds: collection commits wait for it,
    /// so it bounds the extra ingest latency while the processor catches up. The next batch is cut to the events whose
    /// writes fit at the last batch's measured cost per event (never below BatchSize).
    /// </summary>
    public int MaxWriteMilliseconds { get; set; } = 1_000;

    /// <summary>
    /// Profiles the processor keeps deserialised between batches, so a returning visitor costs no read. Each costs
    /// ~3-4 KB of memory; a cache that holds every active profile is the largest single speed-up at scale (150k
    /// profiles: 10.6-11.2k events/s at 50,000, 14.6k with 200,000 here and 300,000 identity nodes, for +410 MB of RSS).
    /// </summary>
    public int CachedProfiles { get; set; } = 50_000;

    /// <summary>Distinct track event names counted per profile; further names count under "(other)".</summary>
    public int MaxEventNames { get; set; } = 200;

    /// <summary>
    /// Consent from traits: trait name (in identify traits and context.traits) -> purpose, e.g. "marketing_consent": "marketing".
    /// A true-ish value (true, "yes", "granted", 1) grants, any other value denies. context.consent.categoryPreferences is always read.
    /// </summary>
    public Dictionary<string, string> ConsentTraits { get; set; } = new(StringComparer.Ordinal) { ["marketing_consent"] = "marketing" };

    /// <summary>Traits computed from events, by trait name.</summary>
    public Dictionary<string, ComputedTraitOptions> ComputedTraits { get; set; } = new(StringComparer.Ordinal);

    /// <summary>What one profile (or account) document may hold: <c>Cdp:Profiles:Limits</c>.</summary>
    public ProfileLimits Limits { get; set; } = new();
}

/// <summary>
/// Bounds on what events can grow in one profile or account document, so that none comes near LiteDB's 16 MB document
/// limit. Checked per value as it is applied (the processor keeps a running count of trait keys and bytes): a value over a
/// limit is dropped, the newest first, and the reason recorded on the profile (<c>skipped</c> in the Profile API).
/// </summary>
internal sealed class ProfileLimits
{
    /// <summary>Trait keys at every level (an object counts as a key, and so does each key inside it).</summary>
    public int MaxTraitKeys { get; set; } = 1_000;

    /// <summary>Levels of nested objects in traits (traits.a.b is 2 levels); deeper values are dropped.</summary>
    public int MaxTraitDepth { get; set; } = 10;

    /// <summary>Bytes of the traits as stored (BSON, including the per-value timestamps), estimated as values are applied.</summary>
    public int MaxTraitBytes { get; set; } = 1_000_000;

    /// <summary>Characters of one string value (in traits and computed traits' First/Last values).</summary>
    public int MaxStringLength { get; set; } = 8_192;

    /// <summary>
    /// Characters of a key: trait names, counted event names, consent purposes, group ids, Unique computed values. At most
    /// 300: group ids are LiteDB index keys (under 1,023 bytes).
    /// </summary>
    public int MaxKeyLength { get; set; } = 256;

    /// <summary>Groups (accounts) one profile belongs to.</summary>
    public int MaxGroups { get; set; } = 100;

    /// <summary>Consent purposes one profile holds.</summary>
    public int MaxConsentPurposes { get; set; } = 50;

    /// <summary>Keeps every profile document far below LiteDB's 16 MB limit whatever the events: the sum of the worst cases.</summary>
    public const long MaxDocumentBytes = 8_000_000;

    /// <summary>The largest profile document these limits allow (bytes, a generous estimate); validated against <see cref="MaxDocumentBytes"/>.</summary>
    public static long WorstCase(ProfilesOptions o)
    {
        var l = o.Limits;
        long key = 4L * l.MaxKeyLength + 16; // UTF-8 worst case (3 bytes per UTF-16 char, rounded up) + BSON framing
        var computed = o.ComputedTraits.Values.Sum(t => t.Kind switch
        {
            ComputedKind.Unique => (long)t.MaxValues * (key + 8),
            ComputedKind.First or ComputedKind.Last => 64_000L, // one value of one event (events are at most 32 KB)
            _ => (t.Window is { } w ? (long)w.TotalDays : 1) * 64,
        });
        return l.MaxTraitBytes + (long)o.MaxEventNames * (key + 8) + (long)l.MaxGroups * key + (long)l.MaxConsentPurposes * (key + 64)
            + computed + 64_000; // counters, sources, timeline (256 sequences), skipped-value reasons
    }
}

internal enum ComputedKind { Count, Sum, Min, Max, Avg, First, Last, Unique }

internal sealed class ComputedTraitOptions
{
    public ComputedKind Kind { get; set; } = ComputedKind.Count;

    /// <summary>Event type the trait reads: track (default), page, screen, identify, group, or "*" for all.</summary>
    public string Type { get; set; } = "track";

    /// <summary>Track event name (or page/screen name); empty = every event of <see cref="Type"/>.</summary>
    public string? Event { get; set; }

    /// <summary>Property path (dots for nested, e.g. "product.price"); required for every kind but Count.</summary>
    public string? Property { get; set; }

    /// <summary>Property filters: only events whose property equals the value count (e.g. "currency": "EUR").</summary>
    public Dictionary<string, string>? Where { get; set; }

    /// <summary>Count/Sum/Min/Max/Avg over the events of the last N days only (by event timestamp; day buckets). Empty = all time.</summary>
    public TimeSpan? Window { get; set; }

    /// <summary>Unique: most values kept (the first ones seen).</summary>
    public int MaxValues { get; set; } = 100;
}

internal sealed class ProfilesOptionsValidator : AbstractValidator<ProfilesOptions>
{
    public ProfilesOptionsValidator()
    {
        RuleFor(o => o.BatchSize).InclusiveBetween(1, 100_000);
        RuleFor(o => o.CatchUpBatchSize).InclusiveBetween(1, 100_000);
        RuleFor(o => o.MaxWriteMilliseconds).InclusiveBetween(10, 60_000);
        RuleFor(o => o.CachedProfiles).InclusiveBetween(0, 10_000_000);
        RuleFor(o => o.MaxEventNames).InclusiveBetween(1, 10_000);
        RuleFor(o => o.Limits.MaxTraitKeys).InclusiveBetween(1, 100_000).OverridePropertyName("Limits.MaxTraitKeys");
        RuleFor(o => o.Limits.MaxTraitDepth).InclusiveBetween(1, 32).OverridePropertyName("Limits.MaxTraitDepth");
        RuleFor(o => o.Limits.MaxTraitBytes).InclusiveBetween(1_000, 4_000_000).OverridePropertyName("Limits.MaxTraitBytes");
        RuleFor(o => o.Limits.MaxStringLength).InclusiveBetween(1, 1_000_000).OverridePropertyName("Limits.MaxStringLength");
        RuleFor(o => o.Limits.MaxKeyLength).InclusiveBetween(1, 300).OverridePropertyName("Limits.MaxKeyLength");
        RuleFor(o => o.Limits.MaxGroups).InclusiveBetween(1, 10_000).OverridePropertyName("Limits.MaxGroups");
        RuleFor(o => o.Limits.MaxConsentPurposes).InclusiveBetween(1, 1_000).OverridePropertyName("Limits.MaxConsentPurposes");
        RuleFor(o => o).Must(o => ProfileLimits.WorstCase(o) <= ProfileLimits.MaxDocumentBytes).OverridePropertyName("Limits")
            .WithMessage(o => $"these limits, MaxEventNames and the computed traits allow a profile document of {ProfileLimits.WorstCase(o):N0} bytes; "
                + $"at most {ProfileLimits.MaxDocumentBytes:N0} (LiteDB's limit is 16 MB): lower MaxTraitBytes, MaxEventNames, MaxKeyLength or a Unique trait's MaxValues");
        RuleForEach(o => o.ConsentTraits).Must(t => !string.IsNullOrWhiteSpace(t.Key) && !string.IsNullOrWhiteSpace(t.Value))
            .OverridePropertyName("ConsentTraits").WithMessage("each entry maps a trait name to a purpose name, e.g. \"marketing_consent\": \"marketing\"");
        RuleForEach(o => o.ComputedTraits).ChildRules(t =>
        {
            t.RuleFor(e => e.Value.Property).NotEmpty().When(e => e.Value.Kind != ComputedKind.Count)
                .OverridePropertyName("Property").WithMessage("is required for every kind but Count");
            t.RuleFor(e => e.Value.Window).Must(w => w is null || (w.Value >= TimeSpan.FromDays(1) && w.Value <= TimeSpan.FromDays(3660)))
                .OverridePropertyName("Window").WithMessage("must be between 1 day and 10 years (whole days), e.g. 30.00:00:00");
            t.RuleFor(e => e.Value.Window).Must(w => w is null).When(e => e.Value.Kind is ComputedKind.First or ComputedKind.Last or ComputedKind.Unique)
                .OverridePropertyName("Window").WithMessage("only Count, Sum, Min, Max and Avg have a window");
            t.RuleFor(e => e.Value.MaxValues).InclusiveBetween(1, 10_000).OverridePropertyName("MaxValues");
            t.RuleFor(e => e.Value.Type).Must(v => v is "*" or "track" or "page" or "screen" or "identify" or "group" or "alias")
                .OverridePropertyName("Type").WithMessage("must be track, page, screen, identify, group, alias or *");
        }).OverridePropertyName("ComputedTraits");
    }
}
