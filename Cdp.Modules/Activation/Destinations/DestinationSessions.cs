using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Destinations.Meta;
using Cdp.Modules.Activation.Engine;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Logging;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>Opens a destination session by type; batch sizes and dry-run previews without any I/O.</summary>
[Service]
internal sealed class DestinationSessions(DestinationHttp http, MemberState state, ILoggerFactory logs, TimeProvider clock, IProfileReader profiles)
{
    /// <summary>Vendor limits: Mailchimp 500 members per batch call; Brevo removes 150 per call; SendGrid 30,000 contacts (6 MB) per PUT.</summary>
    public const int MailchimpMax = 500, BrevoImportDefault = 1000, BrevoRemoveMax = 150, SendGridMax = 30_000, SendGridSearchMax = 100, WebhookDefault = 100, CsvRows = 5000;

    public IDestinationSession Open(SyncTarget target) => target.Destination.Kind switch
    {
        DestinationType.Mailchimp => new MailchimpSession(target, http.Client(target.DestinationName), state),
        DestinationType.Brevo => new BrevoSession(target, http.Client(target.DestinationName)),
        DestinationType.SendGrid => new SendGridSession(target, http.Client(target.DestinationName)),
        DestinationType.Webhook => new WebhookSession(target, http.Client(target.DestinationName)),
        DestinationType.CsvFile => new CsvFileSession(target, clock, logs.CreateLogger<CsvFileSession>()),
        DestinationType.MetaCustomAudience => new MetaAudienceSession(target, http.Client(target.DestinationName), state, profiles),
        DestinationType.GoogleCustomerMatch => new Google.GoogleCustomerMatchSession(target, http.Client(target.DestinationName)),
        _ => throw new InvalidOperationException($"destination type {target.Destination.Type} is not supported"),
    };

    public static bool WantsEveryMember(DestinationSettings d) => d.Kind == DestinationType.CsvFile && d.Output == CsvOutput.Snapshot;

    public static int UpsertBatchSize(DestinationSettings d) => d.Kind switch
    {
        DestinationType.Mailchimp => d.BatchSize > 0 ? d.BatchSize : MailchimpMax,
        DestinationType.Brevo => d.BatchSize > 0 ? d.BatchSize : BrevoImportDefault,
        DestinationType.SendGrid => d.BatchSize > 0 ? d.BatchSize : SendGridMax,
        DestinationType.Webhook => d.BatchSize > 0 ? d.BatchSize : WebhookDefault,
        DestinationType.MetaCustomAudience => d.BatchSize > 0 ? d.BatchSize : MetaAudienceRows.MaxRows,
        DestinationType.GoogleCustomerMatch => d.BatchSize > 0 ? d.BatchSize : GoogleCustomerMatchSettings.DefaultBatch,
        _ => CsvRows,
    };

    public static int RemoveBatchSize(DestinationSettings d) => d.Kind switch
    {
        DestinationType.Brevo => Math.Min(BrevoRemoveMax, UpsertBatchSize(d)),
        DestinationType.SendGrid => SendGridSearchMax,
        _ => UpsertBatchSize(d),
    };

    public static string Preview(SyncTarget target, IReadOnlyList<OutgoingMember> upserts) => target.Destination.Kind switch
    {
        DestinationType.Mailchimp => MailchimpSession.UpsertBody(target, upserts),
        DestinationType.Brevo => BrevoSession.ImportBody(target, upserts),
        DestinationType.SendGrid => SendGridSession.UpsertBody(target, upserts),
        DestinationType.Webhook => WebhookSession.Body(target, "members.upserted", upserts),
        DestinationType.MetaCustomAudience => MetaAudienceSession.Preview(target, upserts),
        DestinationType.GoogleCustomerMatch => Google.GoogleCustomerMatchSession.Preview(target, upserts),
        _ => CsvFileSession.Preview(target, upserts),
    };

    /// <summary>
    /// How a sync's profiles become members: consent purpose by destination type (plus the purposes Google's consent fields
    /// map to); Meta sends its own rows of identifier keys instead of FieldMappings.
    /// </summary>
    public static MemberProjection Projection(SyncSettings s, DestinationSettings d) => new(s, scalarFields: d.Kind != DestinationType.Webhook,
        s.EffectiveConsentPurpose(d), d.Kind == DestinationType.MetaCustomAudience ? new MetaAudienceRows(s, d).Fields : null,
        AdAudienceConsent.RequiredPurposes(d));
}
