using FluentValidation;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Collection;

/// <summary>appsettings section <c>Cdp:Sources</c>: one entry per sending system.</summary>
internal sealed class SourcesOptions() : Dictionary<string, SourceOptions>(StringComparer.Ordinal)
{
    public const string Section = "Cdp:Sources";

    /// <summary>The write key of the shipped <c>website</c> source in appsettings.json: published, so refused outside Development.</summary>
    public const string SampleWriteKey = "dev-website-write-key";
}

internal sealed class SourceOptions
{
    /// <summary>
    /// What sends: <c>Segment</c> (the default: SDKs and servers with a write key on /v1), or a vendor webhook posting to
    /// /v1/webhooks/&lt;name&gt;: <c>SendGrid</c>, <c>Mailchimp</c>, <c>Brevo</c>, <c>Mapped</c> (any JSON or form webhook).
    /// </summary>
    public string Kind { get; set; } = nameof(Webhooks.SourceKind.Segment);

    /// <summary><see cref="Kind"/> read (case-insensitive); null when it names no kind (the validator refuses the start).</summary>
    public Webhooks.SourceKind? ParsedKind =>
        Enum.TryParse<Webhooks.SourceKind>(Kind, ignoreCase: true, out var k) && Enum.IsDefined(k) && !int.TryParse(Kind, out _) ? k : null;

    /// <summary>The Segment write key SDKs send (HTTP Basic user name, or "writeKey" in the body). Segment sources only.</summary>
    public string WriteKey { get; set; } = "";

    /// <summary>SendGrid: the Signed Event Webhook's verification key (base64 DER, as SendGrid shows it).</summary>
    public string PublicKey { get; set; } = "";

    /// <summary>SendGrid and Mapped with a timestamp: older (or further in the future) signed requests are refused as replays.</summary>
    public TimeSpan MaxSignatureAge { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Mailchimp: the secret path segment of the webhook URL (/v1/webhooks/&lt;name&gt;/&lt;secret&gt;).</summary>
    public string Secret { get; set; } = "";

    /// <summary>Brevo: HTTP Basic credentials Brevo sends (its "basic authentication" option).</summary>
    public string Username { get; set; } = "";

    /// <summary>Brevo: the password of <see cref="Username"/>.</summary>
    public string Password { get; set; } = "";

    /// <summary>Brevo: the token Brevo sends as "Authorization: Bearer &lt;token&gt;" (its "token" option).</summary>
    public string Token { get; set; } = "";

    /// <summary>
    /// Consent purpose the vendor's opt-outs revoke (unsubscribe, spam report, cleaned, hard bounce; see
    /// <see cref="OptOutEvents"/>), with this source as the statement's origin. Empty: opt-outs are recorded as events only.
    /// </summary>
    public string OptOutPurpose { get; set; } = "marketing";

    /// <summary>The vendor's event types that revoke <see cref="OptOutPurpose"/>; empty = the kind's defaults (see README).</summary>
    public List<string> OptOutEvents { get; set; } = [];

    /// <summary>Mapped: how a payload becomes events.</summary>
    public Webhooks.WebhookMapping Mapping { get; set; } = new();

    /// <summary>Mapped: the optional HMAC signature check.</summary>
    public Webhooks.WebhookSignature Signature { get; set; } = new();

    /// <summary>Reject invalid events with 400 instead of keeping them as dead letters.</summary>
    public bool Strict { get; set; }

    /// <summary>Requests per second this write key may send (a token bucket with a burst of twice that); 0 = no limit.</summary>
    public int MaxRequestsPerSecond { get; set; }

    /// <summary>
    /// Web pages (origins) whose browsers may send with this write key: <c>*</c> or <c>scheme://host[:port]</c>.
    /// Empty (the default) = any origin. A courtesy, not security: the website write key is public and a non-browser
    /// client can send any Origin header.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>The tracking plan (a key of <c>Cdp:TrackingPlans</c>) this source's events are checked against; empty = none.</summary>
    public string TrackingPlan { get; set; } = "";

    /// <summary>What a call with invalid, missing or unplanned properties becomes: <c>Report</c> (default), <c>Omit</c> or <c>Block</c>.</summary>
    public string OnViolation { get; set; } = nameof(TrackingPlans.ViolationAction.Report);

    /// <summary>What a track event the plan does not list becomes: <c>Report</c> (default), <c>Allow</c> or <c>Block</c>.</summary>
    public string OnUnplannedEvent { get; set; } = nameof(TrackingPlans.UnplannedEventAction.Report);
}

internal sealed class SourcesOptionsValidator : AbstractValidator<SourcesOptions>
{
    public const int MinimumWriteKeyLength = 8;

    public SourcesOptionsValidator()
    {
        RuleFor(o => o).Custom((sources, ctx) =>
        {
            foreach (var (name, source) in sources)
            {
                if (source.ParsedKind is null)
                {
                    ctx.AddFailure($"{name}:Kind", $"'{source.Kind}' is not a source kind: use Segment, SendGrid, Mailchimp, Brevo or Mapped");
                    continue;
                }
                if (source.ParsedKind != Webhooks.SourceKind.Segment)
                {
                    foreach (var (field, message) in Webhooks.WebhookOptionsRules.Check(source))
                        ctx.AddFailure($"{name}:{field}", message);
                    if (source.MaxRequestsPerSecond < 0)
                        ctx.AddFailure($"{name}:MaxRequestsPerSecond", "must be 0 (no limit) or a positive number of requests per second");
                    continue;
                }
                if (string.IsNullOrWhiteSpace(source.WriteKey) || source.WriteKey.Length < MinimumWriteKeyLength)
                    ctx.AddFailure($"{name}:WriteKey", $"must be at least {MinimumWriteKeyLength} characters (the key SDKs send)");
                if (source.MaxRequestsPerSecond < 0)
                    ctx.AddFailure($"{name}:MaxRequestsPerSecond", "must be 0 (no limit) or a positive number of requests per second");
                if (!TrackingPlans.SourcePlanSettings.TryParse(source.OnViolation, out TrackingPlans.ViolationAction _))
                    ctx.AddFailure($"{name}:OnViolation", $"'{source.OnViolation}' is not a violation action: use Report, Omit or Block");
                if (!TrackingPlans.SourcePlanSettings.TryParse(source.OnUnplannedEvent, out TrackingPlans.UnplannedEventAction _))
                    ctx.AddFailure($"{name}:OnUnplannedEvent", $"'{source.OnUnplannedEvent}' is not an unplanned-event action: use Report, Allow or Block");
                for (var i = 0; i < source.AllowedOrigins.Count; i++)
                {
                    if (Ingest.AllowedOrigins.Normalise(source.AllowedOrigins[i]) is null)
                        ctx.AddFailure($"{name}:AllowedOrigins:{i}",
                            $"'{source.AllowedOrigins[i]}' is not an origin: use * or scheme://host[:port] with no path, e.g. https://www.example.com");
                }
            }
            foreach (var dup in sources.Where(s => s.Value.ParsedKind == Webhooks.SourceKind.Segment).GroupBy(s => s.Value.WriteKey, StringComparer.Ordinal).Where(g => g.Count() > 1))
                ctx.AddFailure($"{dup.Last().Key}:WriteKey", $"the same WriteKey is used by {string.Join(" and ", dup.Select(d => d.Key))}");
        });
    }
}

/// <summary>
/// Outside the Development environment the host refuses to start while a source still has the sample write key that
/// appsettings.json and the README publish (anyone could send as that source); Program prints it and exits with 2.
/// </summary>
internal sealed class ProductionWriteKeyRules(IHostEnvironment environment) : IValidateOptions<SourcesOptions>
{
    public ValidateOptionsResult Validate(string? name, SourcesOptions options)
    {
        if (environment.IsDevelopment()) return ValidateOptionsResult.Success;
        var failures = options
            .Where(s => string.Equals(s.Value.WriteKey, SourcesOptions.SampleWriteKey, StringComparison.Ordinal))
            .Select(s => $"{SourcesOptions.Section}:{s.Key}:WriteKey: is the sample write key from appsettings.json; outside Development " +
                $"set your own, e.g. Cdp__Sources__{s.Key}__WriteKey=$(openssl rand -hex 16) (environment: {environment.EnvironmentName})")
            .ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>appsettings section <c>Cdp:Collection</c>.</summary>
internal sealed class CollectionOptions
{
    public const string Section = "Cdp:Collection";

    /// <summary>A messageId seen from the same source within this window is acknowledged but stored once.</summary>
    public TimeSpan DedupWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Most messageIds remembered for deduplication (about 70 bytes each: 5,000,000 is about 350 MB). Beyond it the oldest
    /// are forgotten before the end of the window, so memory stays bounded under a sustained high rate.
    /// </summary>
    public int DedupMaxEntries { get; set; } = 5_000_000;

    /// <summary>Events waiting for the group commit; beyond it requests get 429 with Retry-After.</summary>
    public int QueueCapacity { get; set; } = 100_000;

    /// <summary>Most events written in one LiteDB transaction by the group commit.</summary>
    public int MaxEventsPerCommit { get; set; } = 20_000;

    public static readonly TimeSpan DefaultMaxFutureSkew = TimeSpan.FromDays(1);

    /// <summary>
    /// How far past receivedAt an event's corrected time may lie (a client clock a few hours ahead, time zones sent as
    /// UTC); later, like earlier than 2000, it is stored at receivedAt (the client's value kept in originalTimestamp).
    /// </summary>
    public TimeSpan MaxFutureSkew { get; set; } = DefaultMaxFutureSkew;

    /// <summary>
    /// Cdp's address as browsers reach it (e.g. https://cdp.example.com behind a reverse proxy), written into the SDK
    /// settings documents; empty = the scheme and host of the request that fetched the document.
    /// </summary>
    public string PublicUrl { get; set; } = "";
}

internal sealed class CollectionOptionsValidator : AbstractValidator<CollectionOptions>
{
    public CollectionOptionsValidator()
    {
        RuleFor(o => o.DedupWindow).InclusiveBetween(TimeSpan.Zero, TimeSpan.FromDays(30));
        RuleFor(o => o.DedupMaxEntries).InclusiveBetween(1_000, 200_000_000);
        RuleFor(o => o.QueueCapacity).InclusiveBetween(Limits.MaxEventsPerBatch, 10_000_000);
        RuleFor(o => o.MaxEventsPerCommit).InclusiveBetween(1, 1_000_000);
        RuleFor(o => o.MaxFutureSkew).InclusiveBetween(TimeSpan.Zero, TimeSpan.FromDays(365));
        RuleFor(o => o.PublicUrl)
            .Must(u => u.Length == 0 || (Uri.TryCreate(u, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Query.Length == 0 && uri.Fragment.Length == 0))
            .WithMessage("must be empty or an absolute http(s) URL with no query, e.g. https://cdp.example.com");
    }
}

/// <summary>Limits of the Segment Tracking API, with Segment's values.</summary>
internal static class Limits
{
    public const int MaxEventBytes = 32 * 1024;
    public const int MaxBatchBytes = 500 * 1024;
    public const int MaxEventsPerBatch = 2_500;
    public const int MaxMessageIdLength = 100;
    public const int MaxPropertiesOrTraits = 300;
}
