using System.Text.RegularExpressions;
using FluentValidation;

namespace Cdp.Modules.Activation.Configuration;

internal enum DestinationType { Mailchimp, Brevo, SendGrid, Webhook, CsvFile, MetaCustomAudience, GoogleCustomerMatch }

/// <summary>What happens in Mailchimp to a contact that leaves the segment.</summary>
internal enum ExitPolicy { Untag, Archive, Unsubscribe, None }

internal enum SyncMode { Delta, Full }

/// <summary>CSV output: one file with every current member, or one file of added/updated rows and one of removed rows.</summary>
internal enum CsvOutput { Snapshot, Changes }

/// <summary>
/// appsettings section <c>Cdp:Destinations</c>: destinations by name. Secrets can come from environment variables,
/// e.g. <c>Cdp__Destinations__newsletter__ApiKey</c>.
/// </summary>
internal sealed partial class DestinationSettings
{
    public const string Section = "Cdp:Destinations";

    /// <summary>Mailchimp, Brevo, SendGrid, Webhook, CsvFile or MetaCustomAudience (read as text so that a wrong value is reported with its key).</summary>
    public string Type { get; set; } = "";

    /// <summary>The parsed <see cref="Type"/>; null when it names no known type.</summary>
    public DestinationType? Kind => Enum.TryParse<DestinationType>(Type, ignoreCase: true, out var t) && Enum.IsDefined(t) && !char.IsDigit(Type.FirstOrDefault()) ? t : null;

    /// <summary>HTTP destinations: the API root. Empty: the vendor's own (Mailchimp: https://&lt;dc&gt;.api.mailchimp.com from the key).
    /// Webhook: the URL batches are POSTed to (required).</summary>
    public string BaseUrl { get; set; } = "";

    /// <summary>Mailchimp, Brevo, SendGrid: the API key.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary>Mailchimp audience id, Brevo list id (a number), SendGrid list id.</summary>
    public string ListId { get; set; } = "";

    /// <summary>Mailchimp: what a contact that leaves the segment gets.</summary>
    public ExitPolicy ExitPolicy { get; set; } = ExitPolicy.Untag;

    /// <summary>Mailchimp: the status a new list member gets (the consent filter already applied): subscribed, pending or transactional.</summary>
    public string NewMemberStatus { get; set; } = "subscribed";

    /// <summary>Webhook: the signing secret, "whsec_" + base64 (Standard Webhooks).</summary>
    public string Secret { get; set; } = "";

    /// <summary>Rows per request; 0 = the vendor's maximum (Mailchimp 500, Brevo import 1,000 / remove 150, SendGrid 30,000 / 6 MB, webhook 100).</summary>
    public int BatchSize { get; set; }

    /// <summary>
    /// Mailchimp, SendGrid: a text longer than the vendor's published limit (SendGrid first_name 50, city 60...; Mailchimp merge
    /// fields 255) is cut to the limit. False (default): such a row is not sent and is rejected alone, with its reason.
    /// </summary>
    public bool TruncateLongFields { get; set; }

    /// <summary>Requests in flight to this destination at once (all its syncs together).</summary>
    public int MaxConcurrency { get; set; } = 2;

    /// <summary>Attempts per request for 429, 5xx and timeouts (exponential backoff with jitter, or the vendor's reset header).</summary>
    public int MaxAttempts { get; set; } = 6;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A rate-limit reset further away than this fails the request instead of waiting.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Timeout of one attempt.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>SendGrid and Brevo imports: how often the import job is polled, and for how long at most.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan PollTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>CsvFile: the local folder files are written to.</summary>
    public string Folder { get; set; } = "";

    public CsvOutput Output { get; set; } = CsvOutput.Snapshot;

    /// <summary>CsvFile: how many files of each sync are kept in Folder (older ones are deleted).</summary>
    public int RetainFiles { get; set; } = 30;

    public char Delimiter { get; set; } = ',';

    /// <summary>
    /// CsvFile: a text cell starting with =, +, -, @, tab or CR gets a leading ' so a spreadsheet shows it as text instead of
    /// running it as a formula (CSV injection; OWASP's advice). False only for files read by programs, never by people.
    /// </summary>
    public bool EscapeFormulas { get; set; } = true;

    /// <summary>CsvFile: optional SFTP upload of each finished file.</summary>
    public SftpSettings? Sftp { get; set; }

    /// <summary>MetaCustomAudience: the ad account's id (the digits; "act_" in front is accepted).</summary>
    public string AdAccountId { get; set; } = "";

    /// <summary>MetaCustomAudience: an existing customer-list audience; empty: each sync creates its own ("cdp-&lt;sync&gt;") once.</summary>
    public string AudienceId { get; set; } = "";

    /// <summary>MetaCustomAudience: a system user's access token with the ads_management permission.</summary>
    public string AccessToken { get; set; } = "";

    /// <summary>MetaCustomAudience: customer_file_source of a created audience: USER_PROVIDED_ONLY, PARTNER_PROVIDED_ONLY or BOTH_USER_AND_PARTNER_PROVIDED.</summary>
    public string CustomerFileSource { get; set; } = "USER_PROVIDED_ONLY";

    /// <summary>
    /// MetaCustomAudience: Meta's identifier key (EMAIL, PHONE, FN, LN, CT, ST, ZIP, COUNTRY, DOBY, DOBM, DOBD, GEN, EXTERN_ID,
    /// MADID) -> profile value ("traits.&lt;name&gt;" or "computed.&lt;name&gt;"). Empty: EMAIL, PHONE, FN, LN, COUNTRY from the
    /// Segment spec's traits (email, phone, firstName, lastName, address.country), each sent where the profile has it.
    /// </summary>
    public Dictionary<string, string> Identifiers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>MetaCustomAudience: region of phone numbers written without a country code (ISO 3166 two letters), as Cdp:Identity:DefaultPhoneRegion.</summary>
    public string DefaultPhoneRegion { get; set; } = "US";
}

internal sealed class SftpSettings
{
    public string Host { get; set; } = "";

    public int Port { get; set; } = 22;

    public string User { get; set; } = "";

    public string Password { get; set; } = "";

    /// <summary>An OpenSSH private key file (used instead of Password when set).</summary>
    public string PrivateKeyPath { get; set; } = "";

    public string PrivateKeyPassphrase { get; set; } = "";

    /// <summary>The server's host key, pinned: "SHA256:&lt;base64&gt;" as ssh-keygen -lf prints it. Required.</summary>
    public string HostKeyFingerprint { get; set; } = "";

    public string RemoteFolder { get; set; } = ".";

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>appsettings section <c>Cdp:Syncs</c>: which segment goes to which destination, when, and with what fields.</summary>
internal sealed class SyncSettings
{
    public const string Section = "Cdp:Syncs";

    public string Segment { get; set; } = "";

    public string Destination { get; set; } = "";

    /// <summary>Cron (5 fields, or 6 with seconds first), read in <see cref="TimeZone"/>.</summary>
    public string Cron { get; set; } = "";

    public string TimeZone { get; set; } = "UTC";

    public SyncMode Mode { get; set; } = SyncMode.Delta;

    /// <summary>The profile trait sent as the contact's identifier; email by default (Mailchimp, Brevo and SendGrid need an email).</summary>
    public string Identifier { get; set; } = "email";

    /// <summary>Destination field -> profile value: "traits.&lt;name&gt;" or "computed.&lt;name&gt;" (a computed trait).</summary>
    public Dictionary<string, string> FieldMappings { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Only profiles whose consent for this purpose is granted (the profile's consent: context.consent.categoryPreferences and
    /// Cdp:Profiles:ConsentTraits, latest wins). Empty: no consent filter. A revoked consent removes the member on the next run.
    /// Not set: "marketing", or "advertising" for ad audiences (see <see cref="EffectiveConsentPurpose"/>).
    /// </summary>
    public string? ConsentPurpose { get; set; }

    /// <summary>The purpose a sync to <paramref name="d"/> filters on: <see cref="ConsentPurpose"/> when set (even ""), else "advertising"
    /// for ad audiences (<see cref="SettingNames.IsAdAudience"/>) and "marketing" for every other destination.</summary>
    public string EffectiveConsentPurpose(DestinationSettings? d) => ConsentPurpose ?? (SettingNames.IsAdAudience(d?.Kind) ? "advertising" : "marketing");

    /// <summary>Replaced by <see cref="ConsentPurpose"/>: bound only so that an old appsettings.json is refused, not silently ignored.</summary>
    public string? RequireConsent { get; set; }

    /// <summary>Replaced by <see cref="ConsentPurpose"/> and Cdp:Profiles:ConsentTraits (see <see cref="RequireConsent"/>).</summary>
    public string? ConsentTrait { get; set; }

    /// <summary>
    /// Ad audiences: the profile value sent as the member's value for value-based (lookalike) seeds, "traits.&lt;name&gt;" or
    /// "computed.&lt;name&gt;" (e.g. computed.lifetime_revenue); empty: no value. Meta: LOOKALIKE_VALUE of a value-based audience;
    /// Google Customer Match: userAttribute.lifetimeValueMicros.
    /// </summary>
    public string ValueTrait { get; set; } = "";

    /// <summary>Profiles whose trait of this name is true-ish are never sent (an opt-out flag); empty: none.</summary>
    public string SuppressedTrait { get; set; } = "suppressed";

    /// <summary>
    /// Email destinations (Mailchimp, Brevo, SendGrid): a member who opts out (revoked consent for <see cref="ConsentPurpose"/>,
    /// a true-ish <see cref="SuppressedTrait"/>, or a suppressed identifier) is also unsubscribed at the vendor (Mailchimp status
    /// unsubscribed, Brevo emailBlacklisted, SendGrid global unsubscribe), not only taken off the list. Counted as "unsubscribed".
    /// </summary>
    public bool UnsubscribeOnOptOut { get; set; } = true;

    /// <summary>A run that would remove more than this share of the synced members stops (unless run with allowMassRemoval).</summary>
    public double MaxRemovalShare { get; set; } = 0.5;

    /// <summary>False: no schedule; runs only when started by hand.</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>Cdp:Destinations and Cdp:Syncs, bound from the "Cdp" section so that one validator can check syncs against destinations.</summary>
internal sealed class ActivationOptions
{
    public const string Section = "Cdp";

    public Dictionary<string, DestinationSettings> Destinations { get; set; } = new(StringComparer.Ordinal);

    public Dictionary<string, SyncSettings> Syncs { get; set; } = new(StringComparer.Ordinal);
}

internal static partial class SettingNames
{
    /// <summary>Destination and sync names: they become recurring job ids and URL segments.</summary>
    [GeneratedRegex("^[a-z0-9_-]{1,64}$")]
    public static partial Regex Name();

    [GeneratedRegex("^(traits|computed)\\.[^.]+.*$")]
    public static partial Regex Source();

    /// <summary>
    /// How to set a destination's secret from the environment. bash cannot <c>export</c> a name holding '-', so for such
    /// destinations the hint shows <c>env</c>, which can (as can systemd's Environment= and docker -e).
    /// </summary>
    public static string EnvironmentHint(string destination, string key)
    {
        var variable = $"Cdp__Destinations__{destination}__{key}";
        return destination.Contains('-')
            ? $"set it with the environment variable {variable}; its name holds '-', which bash's export refuses: start Cdp with env '{variable}=...' Cdp.Host, or with systemd Environment= or docker -e, or rename the destination with '_'"
            : $"set it with the environment variable {variable}";
    }

    public static bool IsHttp(DestinationType? type) => type is DestinationType.Mailchimp or DestinationType.Brevo or DestinationType.SendGrid or DestinationType.Webhook
        or DestinationType.MetaCustomAudience or DestinationType.GoogleCustomerMatch;

    /// <summary>Ad platforms' audiences (hashed identifiers): their syncs' consent purpose defaults to "advertising".</summary>
    public static bool IsAdAudience(DestinationType? type) => type is DestinationType.MetaCustomAudience or DestinationType.GoogleCustomerMatch;

    public static bool NeedsEmail(DestinationType? type) => type is DestinationType.Mailchimp or DestinationType.Brevo or DestinationType.SendGrid;
}

/// <summary>Validates Cdp:Destinations and Cdp:Syncs; failures are named by their full key (Cdp:Destinations:&lt;name&gt;:ApiKey).</summary>
internal sealed class ActivationOptionsValidator : AbstractValidator<ActivationOptions>
{
    public ActivationOptionsValidator()
    {
        RuleFor(o => o.Syncs).Custom((syncs, context) =>
        {
            var destinations = context.InstanceToValidate.Destinations;
            foreach (var (name, s) in syncs)
            {
                void Fail(string key, string message) => context.AddFailure($"Syncs:{name}:{key}", message);
                if (!SettingNames.Name().IsMatch(name)) context.AddFailure("Syncs:" + name, "sync names use lowercase letters, digits, '_' and '-' (at most 64)");
                if (string.IsNullOrWhiteSpace(s.Segment)) Fail("Segment", "must name a segment");
                if (!destinations.TryGetValue(s.Destination ?? "", out var d))
                    Fail("Destination", $"'{s.Destination}' is not a destination in Cdp:Destinations (known: {string.Join(", ", destinations.Keys.Order())})");
                if (s.Enabled && string.IsNullOrWhiteSpace(s.Cron)) Fail("Cron", "must be a cron expression, e.g. \"0 3 * * *\" (or set Enabled=false)");
                else if (s.Enabled && Scheduling.Contracts.CronSchedule.Problem(s.Cron) is { } cron) Fail("Cron", cron);
                if (!TimeZoneInfo.TryFindSystemTimeZoneById(s.TimeZone ?? "", out _)) Fail("TimeZone", "must be a known time zone id, e.g. \"UTC\" or \"Europe/Paris\"");
                if (string.IsNullOrWhiteSpace(s.Identifier)) Fail("Identifier", "must name the trait sent as identifier, e.g. email");
                else if (d is not null && SettingNames.NeedsEmail(d.Kind) && s.Identifier != "email") Fail("Identifier", $"{d.Kind} contacts are keyed by email: Identifier must be \"email\"");
                foreach (var (field, source) in s.FieldMappings)
                {
                    if (string.IsNullOrWhiteSpace(field)) Fail("FieldMappings", "a destination field name is empty");
                    if (!SettingNames.Source().IsMatch(source ?? "")) Fail($"FieldMappings:{field}", $"'{source}' must be traits.<name> or computed.<name>");
                }
                if (s.ValueTrait.Length > 0 && !SettingNames.Source().IsMatch(s.ValueTrait)) Fail("ValueTrait", $"'{s.ValueTrait}' must be traits.<name> or computed.<name>");
                else if (s.ValueTrait.Length > 0 && d is not null && !SettingNames.IsAdAudience(d.Kind)) Fail("ValueTrait", $"{d.Kind} takes no member value: ValueTrait is for ad audiences");
                if (d?.Kind == DestinationType.GoogleCustomerMatch) GoogleCustomerMatchSettings.ValidateSync(s, Fail);
                if (s.MaxRemovalShare is < 0 or > 1) Fail("MaxRemovalShare", "must be between 0 and 1 (0.5 = 50%)");
                if (d?.Kind == DestinationType.MetaCustomAudience && Destinations.Meta.MetaAudienceRows.SyncProblem(s, d) is { } meta) Fail(meta.Key, meta.Message);
                if (s.ConsentPurpose is { Length: > 0 } purpose && string.IsNullOrWhiteSpace(purpose)) Fail("ConsentPurpose", "must name a consent purpose (e.g. marketing) or be empty");
                if (s.RequireConsent is not null)
                    Fail("RequireConsent", "was replaced by ConsentPurpose: set ConsentPurpose to a purpose (e.g. \"marketing\") or to \"\" for no consent filter, and remove RequireConsent");
                if (s.ConsentTrait is not null)
                    Fail("ConsentTrait", "was replaced by Cdp:Profiles:ConsentTraits (trait -> purpose) and ConsentPurpose: move the trait there and remove ConsentTrait");
            }
        });
        RuleFor(o => o.Destinations).Custom((destinations, context) =>
        {
            foreach (var (name, d) in destinations)
            {
                void Fail(string key, string message) => context.AddFailure($"Destinations:{name}:{key}", message);
                if (!SettingNames.Name().IsMatch(name)) context.AddFailure("Destinations:" + name, "destination names use lowercase letters, digits, '_' and '-' (at most 64)");
                if (d.Kind is null) { Fail("Type", $"'{d.Type}' is not a destination type: use Mailchimp, Brevo, SendGrid, Webhook, CsvFile, MetaCustomAudience or GoogleCustomerMatch"); continue; }
                if (d.BaseUrl.Length > 0 && !(Uri.TryCreate(d.BaseUrl, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
                    Fail("BaseUrl", "must be an absolute http(s) URL");
                switch (d.Kind)
                {
                    case DestinationType.Mailchimp:
                        if (string.IsNullOrWhiteSpace(d.ApiKey)) Fail("ApiKey", "is required (" + SettingNames.EnvironmentHint(name, "ApiKey") + ")");
                        else if (d.BaseUrl.Length == 0 && !d.ApiKey.Contains('-')) Fail("ApiKey", "has no data centre suffix (e.g. ...-us21); set BaseUrl or use the full key");
                        if (string.IsNullOrWhiteSpace(d.ListId)) Fail("ListId", "is required: the Mailchimp audience (list) id");
                        if (d.NewMemberStatus is not ("subscribed" or "pending" or "transactional")) Fail("NewMemberStatus", "must be subscribed, pending or transactional");
                        if (d.BatchSize is < 0 or > 500) Fail("BatchSize", "must be 0 (500) to 500: Mailchimp takes at most 500 members per call");
                        break;
                    case DestinationType.Brevo:
                        if (string.IsNullOrWhiteSpace(d.ApiKey)) Fail("ApiKey", "is required (" + SettingNames.EnvironmentHint(name, "ApiKey") + ")");
                        if (!long.TryParse(d.ListId, out var l) || l <= 0) Fail("ListId", "must be the Brevo list id, a positive number");
                        if (d.BatchSize is < 0 or > 10000) Fail("BatchSize", "must be 0 (1000) to 10000");
                        break;
                    case DestinationType.SendGrid:
                        if (string.IsNullOrWhiteSpace(d.ApiKey)) Fail("ApiKey", "is required (" + SettingNames.EnvironmentHint(name, "ApiKey") + ")");
                        if (string.IsNullOrWhiteSpace(d.ListId)) Fail("ListId", "is required: the SendGrid marketing list id");
                        if (d.BatchSize is < 0 or > 30000) Fail("BatchSize", "must be 0 (30000) to 30000: SendGrid takes at most 30,000 contacts per call");
                        break;
                    case DestinationType.Webhook:
                        if (d.BaseUrl.Length == 0) Fail("BaseUrl", "is required: the URL the batches are POSTed to");
                        if (!WebhookSecretIsValid(d.Secret)) Fail("Secret", "must be \"whsec_\" followed by base64 of at least 24 bytes (Standard Webhooks)");
                        if (d.BatchSize is < 0 or > 10000) Fail("BatchSize", "must be 0 (100) to 10000");
                        break;
                    case DestinationType.GoogleCustomerMatch:
                        GoogleCustomerMatchSettings.Validate(name, d, Fail);
                        break;
                    case DestinationType.CsvFile:
                        if (string.IsNullOrWhiteSpace(d.Folder)) Fail("Folder", "is required: the local folder the files are written to");
                        if (d.RetainFiles < 1) Fail("RetainFiles", "must be at least 1");
                        if (d.Delimiter is '\r' or '\n' or '"' || d.Delimiter > 127) Fail("Delimiter", "must be an ASCII character other than a quote or a line break");
                        if (d.Sftp is { } s)
                        {
                            if (string.IsNullOrWhiteSpace(s.Host)) Fail("Sftp:Host", "is required when Sftp is set");
                            if (s.Port is < 1 or > 65535) Fail("Sftp:Port", "must be 1 to 65535");
                            if (string.IsNullOrWhiteSpace(s.User)) Fail("Sftp:User", "is required when Sftp is set");
                            if (string.IsNullOrEmpty(s.Password) && string.IsNullOrEmpty(s.PrivateKeyPath)) Fail("Sftp:Password", "set Password or PrivateKeyPath");
                            if (s.PrivateKeyPath.Length > 0 && !File.Exists(s.PrivateKeyPath)) Fail("Sftp:PrivateKeyPath", $"no such file: {s.PrivateKeyPath}");
                            if (!s.HostKeyFingerprint.StartsWith("SHA256:", StringComparison.Ordinal) || s.HostKeyFingerprint.Length < 20)
                                Fail("Sftp:HostKeyFingerprint", "must pin the server's host key as \"SHA256:<base64>\" (ssh-keygen -lf <host key>.pub prints it)");
                        }
                        break;
                    case DestinationType.MetaCustomAudience:
                        foreach (var (key, message) in Destinations.Meta.MetaAudienceRows.DestinationProblems(name, d)) Fail(key, message);
                        break;
                }
                if (SettingNames.IsHttp(d.Kind))
                {
                    if (d.MaxConcurrency is < 1 or > 64) Fail("MaxConcurrency", "must be 1 to 64");
                    if (d.MaxAttempts is < 1 or > 20) Fail("MaxAttempts", "must be 1 to 20");
                    if (d.RetryBaseDelay <= TimeSpan.Zero) Fail("RetryBaseDelay", "must be positive");
                    if (d.MaxRetryDelay < d.RetryBaseDelay) Fail("MaxRetryDelay", "must be at least RetryBaseDelay");
                    if (d.Timeout <= TimeSpan.Zero) Fail("Timeout", "must be positive");
                    if (d.PollInterval <= TimeSpan.Zero) Fail("PollInterval", "must be positive");
                }
            }
        });
    }

    public static bool WebhookSecretIsValid(string secret)
    {
        if (!secret.StartsWith("whsec_", StringComparison.Ordinal)) return false;
        var bytes = new byte[secret.Length];
        return Convert.TryFromBase64String(secret[6..], bytes, out var n) && n >= 24;
    }
}
