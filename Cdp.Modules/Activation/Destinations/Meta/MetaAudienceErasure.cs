using System.Globalization;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Engine;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Activation.Destinations.Meta;

/// <summary>
/// The erasure of a deleted person at a Meta destination: DELETE /{audience}/users with the hashes of the identifier the
/// syncs keyed the person by (what Cdp keeps of an erased person until the vendors acknowledged), from every audience of
/// the destination (its AudienceId, or the audience each of its syncs created). Meta answers 200 whether or not it matched
/// anyone; the call is idempotent, so a retry after a failure is harmless.
/// </summary>
[Service]
internal sealed class MetaAudienceErasure(DestinationHttp http, MemberState state, IOptions<ActivationOptions> options)
{
    public async Task<VendorOutcome> EraseAsync(string name, DestinationSettings d, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var client = http.Client(name);
        var audiences = new List<(string Audience, MetaAudienceRows Rows)>();
        foreach (var (sync, s) in options.Value.Syncs.Where(s => s.Value.Destination == name).OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            var audience = d.AudienceId.Length > 0 ? d.AudienceId : state.Remote(sync, MetaAudienceSession.AudienceIdKey);
            if (audience is not null && audiences.All(a => a.Audience != audience)) audiences.Add((audience, new MetaAudienceRows(s, d)));
        }
        if (audiences.Count == 0) return new VendorOutcome(VendorPrivacyCalls.Gone, "no audience of this destination was ever created");
        long rows = 0;
        foreach (var (audience, shape) in audiences)
        {
            var members = keys.Select(k => new OutgoingMember("", k, shape.KeyOnly(k), 0)).Where(m => m.Fields.Count > 0).ToList();
            foreach (var page in members.Chunk(MetaAudienceRows.MaxRows))
            {
                try
                {
                    (await MetaGraphErrors.SendAsync(client, d, HttpMethod.Delete, $"{audience}/users", shape.Body(page, withValue: false), cancellationToken)).Dispose();
                    rows += page.Length;
                }
                catch (BatchRefusedException ex) when (ex.NotFound)
                {
                    // The audience was deleted in Ads Manager: nobody is left in it to remove.
                }
            }
        }
        if (rows == 0) return new VendorOutcome(VendorPrivacyCalls.Gone, "the destination's audiences no longer exist at Meta");
        return new VendorOutcome(VendorPrivacyCalls.Deleted,
            string.Create(CultureInfo.InvariantCulture, $"{rows} hashed row(s) removed from {audiences.Count} audience(s) (Meta takes up to 24 hours to apply a removal)"));
    }
}
