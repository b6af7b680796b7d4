using Cdp.Modules.Profiles.Projection;
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

    /// <summary>Which value of a trait survives when events (and merged profiles) disagree: <c>Cdp:Profiles:Survivorship</c>.</summary>
    public SurvivorshipOptions Survivorship { get; set; } = new();
}

/// <summary>
/// appsettings section <c>Cdp:Profiles:Survivorship</c>: a rule per trait path (a top-level trait name, or a dotted path to
/// a nested one such as "address.city"; a rule on an object's path covers every leaf under it unless a longer path names
/// its own) and a default for every other trait. Rules are names of <see cref="SurvivorshipRule"/>.
/// </summary>
internal sealed class SurvivorshipOptions
{
    /// <summary>The rule of every trait no entry of <see cref="Traits"/> covers.</summary>
    public string Default { get; set; } = nameof(SurvivorshipRule.MostRecent);

    /// <summary>SourcePriority's order (Cdp:Sources names, strongest first) for every trait whose entry lists none of its own.</summary>
    public List<string> Sources { get; set; } = [];

    /// <summary>
    /// Distinct values a MostFrequent trait counts per profile. Past it the least frequent value (the least recent among
    /// equals) is forgotten to make room, so counts stay exact only for values never forgotten.
    /// </summary>
    public int MaxCandidates { get; set; } = 20;

    /// <summary>Trait path -> its rule.</summary>
    public Dictionary<string, TraitSurvivorshipOptions> Traits { get; set; } = new(StringComparer.Ordinal);

    private SurvivorshipPolicy? _policy;

    /// <summary>The rule tree of these (validated) settings, built once.</summary>
    public SurvivorshipPolicy Policy() => _policy ??= new SurvivorshipPolicy(this);
}

internal sealed class TraitSurvivorshipOptions
{
    public string Rule { get; set; } = "";

    /// <summary>SourcePriority only: this trait's source order (strongest first); empty: Survivorship:Sources.</summary>
    public List<string> Sources { get; set; } = [];
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
        RuleFor(o => o.Survivorship.Default).Must(SurvivorshipRules.IsRule).OverridePropertyName("Survivorship.Default")
            .WithMessage(o => $"\"{o.Survivorship.Default}\" is no survivorship rule; one of {SurvivorshipRules.Names}");
        RuleFor(o => o.Survivorship.Sources).Must(s => s.Count > 0).When(o => SurvivorshipRules.Parse(o.Survivorship.Default) == SurvivorshipRule.SourcePriority)
            .OverridePropertyName("Survivorship.Sources").WithMessage("the default rule SourcePriority needs the sources in order, e.g. [\"crm\", \"website\"]");
        RuleFor(o => o.Survivorship.MaxCandidates).InclusiveBetween(1, 1_000).OverridePropertyName("Survivorship.MaxCandidates");
        RuleFor(o => o.Survivorship.Sources).Custom((sources, context) =>
        {
            for (var i = 0; i < sources.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(sources[i])) context.AddFailure($"Survivorship.Sources[{i}]", "a source name (a Cdp:Sources entry) may not be empty");
                else if (sources.IndexOf(sources[i]) < i) context.AddFailure($"Survivorship.Sources[{i}]", $"\"{sources[i]}\" is listed twice");
            }
        });
        RuleFor(o => o.Survivorship.Traits).Custom((traits, context) =>
        {
            // the failure names the entry's key; a dotted path's dots read as ':' there, so the message quotes the path too
            foreach (var (path, t) in traits)
            {
                var key = $"Survivorship.Traits.{path}";
                if (!SurvivorshipRules.IsPath(path))
                    context.AddFailure(key, $"\"{path}\" is no trait path: a trait name or dotted names (address.city), none of them empty");
                if (!SurvivorshipRules.IsRule(t.Rule))
                    context.AddFailure(key + ".Rule", $"\"{t.Rule}\" (trait path \"{path}\") is no survivorship rule; one of {SurvivorshipRules.Names}");
                else if (SurvivorshipRules.Parse(t.Rule) != SurvivorshipRule.SourcePriority && t.Sources.Count > 0)
                    context.AddFailure(key + ".Sources", $"only the rule SourcePriority reads a source list (trait path \"{path}\" has {t.Rule})");
                else if (SurvivorshipRules.Parse(t.Rule) == SurvivorshipRule.SourcePriority && t.Sources.Count == 0 && context.InstanceToValidate.Survivorship.Sources.Count == 0)
                    context.AddFailure(key + ".Sources", $"SourcePriority (trait path \"{path}\") needs the sources in order, here or in Survivorship:Sources, e.g. [\"crm\", \"website\"]");
                for (var i = 0; i < t.Sources.Count; i++)
                {
                    if (string.IsNullOrWhiteSpace(t.Sources[i])) context.AddFailure($"{key}.Sources[{i}]", $"a source name (a Cdp:Sources entry) may not be empty (trait path \"{path}\")");
                    else if (t.Sources.IndexOf(t.Sources[i]) < i) context.AddFailure($"{key}.Sources[{i}]", $"\"{t.Sources[i]}\" is listed twice (trait path \"{path}\")");
                }
            }
        });
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

/// <summary>
/// SourcePriority lists name sources that exist: every event's source is a <c>Cdp:Sources</c> entry (write key, webhook or
/// CSV import), so a name that is not one is a typo that would silently rank last.
/// </summary>
internal sealed class SurvivorshipSourceRules(Microsoft.Extensions.Configuration.IConfiguration configuration) : Microsoft.Extensions.Options.IValidateOptions<ProfilesOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, ProfilesOptions options)
    {
        var known = configuration.GetSection("Cdp:Sources").GetChildren().Select(c => c.Key).ToHashSet(StringComparer.Ordinal);
        var s = options.Survivorship;
        var failures = new List<string>();
        for (var i = 0; i < s.Sources.Count; i++)
            if (!string.IsNullOrWhiteSpace(s.Sources[i]) && !known.Contains(s.Sources[i]))
                failures.Add($"{ProfilesOptions.Section}:Survivorship:Sources:{i}: \"{s.Sources[i]}\" is no source (Cdp:Sources has {Known(known)})");
        foreach (var (path, t) in s.Traits)
            for (var i = 0; i < t.Sources.Count; i++)
                if (!string.IsNullOrWhiteSpace(t.Sources[i]) && !known.Contains(t.Sources[i]))
                    failures.Add($"{ProfilesOptions.Section}:Survivorship:Traits:{path}:Sources:{i}: \"{t.Sources[i]}\" is no source (Cdp:Sources has {Known(known)})");
        return failures.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(failures);
    }

    private static string Known(HashSet<string> known) => known.Count == 0 ? "no entries" : string.Join(", ", known.Order(StringComparer.Ordinal));
}
