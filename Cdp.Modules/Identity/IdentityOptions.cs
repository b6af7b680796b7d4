using System.Text.RegularExpressions;
using Cdp.Modules.Identity.Identifiers;
using FluentValidation;
using PhoneNumbers;

namespace Cdp.Modules.Identity;

/// <summary>appsettings section <c>Cdp:Identity</c>: identifier types, normalisers, blocked values and the blob guard.</summary>
internal sealed class IdentityOptions
{
    public const string Section = "Cdp:Identity";

    /// <summary>Identifier types by name (user_id, email, ...). Empty: the built-in defaults of <see cref="IdentifierCatalogue"/>.</summary>
    public Dictionary<string, IdentifierTypeOptions> Types { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Region for phone numbers written without a country code (ISO 3166 two letters).</summary>
    public string DefaultPhoneRegion { get; set; } = "US";

    /// <summary>Email domains whose mailboxes ignore dots and +tags in the local part (jane.doe+news@ = janedoe@).</summary>
    public List<string>? EmailDotAndTagDomains { get; set; }

    /// <summary>
    /// Email domains that are another name of the same mailboxes, normalised to the second (jane@googlemail.com is
    /// jane@gmail.com). Null: googlemail.com = gmail.com. Setting the key replaces the default.
    /// </summary>
    public Dictionary<string, string>? EmailDomainAliases { get; set; }

    /// <summary>Keep the built-in blocked values (empty, zero, null, undefined, anonymous, test@test.com...).</summary>
    public bool UseDefaultBlockedValues { get; set; } = true;

    /// <summary>More regexes (case-insensitive, matched against the normalised value) that never become identities.</summary>
    public List<string>? BlockedValues { get; set; }

    /// <summary>Blob guard: an identifier that would join more than this many profiles is quarantined.</summary>
    public int MaxProfilesPerIdentifier { get; set; } = 10;

    /// <summary>Blob guard: a profile with more identifiers than this is quarantined (no further merges).</summary>
    public int MaxIdentifiersPerProfile { get; set; } = 100;

    /// <summary>Blob guard: a profile that took part in more merges than this is quarantined.</summary>
    public int MaxMergesPerProfile { get; set; } = 100;

    /// <summary>
    /// Cluster guard for probabilistic merges (automatic or accepted): a match that would make one profile from more than
    /// this many source profiles (both sides' merges + 2) is not merged; an automatic one goes to review with the reason.
    /// Chained near-duplicates otherwise grow one profile out of many people (all review pairs of 10,000 historical
    /// figures accepted made a 377-record profile of 48 people). The largest true cluster of the shipped test sets is 7.
    /// </summary>
    public int MaxSourceProfilesPerMatch { get; set; } = 50;

    /// <summary>
    /// Identity nodes (a profile's identifiers, limits and last-seen days) kept deserialised between batches, ~1 KB of
    /// memory each. 150k profiles: 10.6-11.2k events/s at 100,000, 12.5k at 300,000 (+70 MB of RSS).
    /// </summary>
    public int CachedNodes { get; set; } = 100_000;
}

internal enum IdentifierWindow { Ever, Annually, Monthly, Weekly }

internal enum IdentifierNormaliser { Id, Email, Phone, LowerCase }

internal sealed class IdentifierTypeOptions
{
    /// <summary>1 is the strongest. When a limit would be exceeded the weakest identifier of the event is dropped.</summary>
    public int Priority { get; set; } = 100;

    /// <summary>Most distinct values of this type per profile within <see cref="Window"/>; 0 = no limit.</summary>
    public int Limit { get; set; }

    public IdentifierWindow Window { get; set; } = IdentifierWindow.Ever;

    public IdentifierNormaliser Normaliser { get; set; } = IdentifierNormaliser.Id;

    /// <summary>Trait names (in traits and context.traits) that carry this identifier.</summary>
    public List<string>? Traits { get; set; }

    /// <summary>context.externalIds[].type values that carry this identifier.</summary>
    public List<string>? ExternalIdTypes { get; set; }

    /// <summary>Regexes for values of this type only, on top of the global ones.</summary>
    public List<string>? BlockedValues { get; set; }
}

internal sealed class IdentityOptionsValidator : AbstractValidator<IdentityOptions>
{
    public IdentityOptionsValidator()
    {
        RuleFor(o => o.DefaultPhoneRegion).Must(r => PhoneNumberUtil.GetInstance().GetSupportedRegions().Contains(r ?? ""))
            .WithMessage("must be a two-letter region libphonenumber knows, e.g. US, GB, DE");
        RuleFor(o => o.MaxProfilesPerIdentifier).InclusiveBetween(2, 1_000_000);
        // these bound an identity node document too: a quarantined profile takes no new identifier and no merge, so a node holds
        // at most this many identifiers (~300 bytes each) and merge ids: 10,000 keeps it near 3 MB, far from LiteDB's 16 MB
        RuleFor(o => o.MaxIdentifiersPerProfile).InclusiveBetween(2, 10_000);
        RuleFor(o => o.MaxMergesPerProfile).InclusiveBetween(1, 10_000);
        RuleFor(o => o.MaxSourceProfilesPerMatch).InclusiveBetween(2, 10_000);
        RuleFor(o => o.CachedNodes).InclusiveBetween(0, 10_000_000);
        RuleForEach(o => o.EmailDomainAliases).Must(a => IsDomain(a.Key) && IsDomain(a.Value)).OverridePropertyName("EmailDomainAliases")
            .WithMessage("each alias maps a domain to a domain, e.g. \"googlemail.com\": \"gmail.com\"");
        RuleForEach(o => o.BlockedValues).Must(BeARegex).WithMessage("is not a valid regular expression (.NET, non-backtracking: no backreferences or lookarounds)");
        RuleForEach(o => o.Types).ChildRules(t =>
        {
            t.RuleFor(e => e.Key).Matches("^[a-z][a-z0-9_]{0,39}$").OverridePropertyName("name")
                .WithMessage("identifier type names are lower-case letters, digits and _ (e.g. crm_id)");
            t.RuleFor(e => e.Value.Priority).InclusiveBetween(1, 1000).OverridePropertyName("Priority");
            t.RuleFor(e => e.Value.Limit).InclusiveBetween(0, 100_000).OverridePropertyName("Limit");
            t.RuleForEach(e => e.Value.BlockedValues).Must(BeARegex).OverridePropertyName("BlockedValues")
                .WithMessage("is not a valid regular expression (.NET, non-backtracking: no backreferences or lookarounds)");
            t.RuleFor(e => e.Value).Must((e, v) => IdentifierCatalogue.BuiltInTypes.Contains(e.Key)
                    || (v.Traits?.Count ?? 0) + (v.ExternalIdTypes?.Count ?? 0) > 0)
                .OverridePropertyName("Traits").WithMessage("a custom identifier type needs Traits or ExternalIdTypes to read its values from");
        }).OverridePropertyName("Types");
    }

    private static bool IsDomain(string? s) =>
        !string.IsNullOrWhiteSpace(s) && s.Contains('.') && !s.StartsWith('.') && !s.EndsWith('.') && !s.Any(c => char.IsWhiteSpace(c) || c is '@' or '/' or ':');

    private static bool BeARegex(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern)) return false;
        try { _ = IdentifierCatalogue.Compile(pattern); return true; }
        catch (ArgumentException) { return false; }
    }
}
