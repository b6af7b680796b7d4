using System.Globalization;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Engine;

namespace Cdp.Modules.Activation.Destinations.Google;

/// <summary>
/// A deleted person leaves the Customer Match list: a job of its own with one remove operation per address the person was
/// synced under (hashed, as sent), run and polled. Google keeps no contact to delete beyond the list membership, so the
/// removal is the erasure. Throws while Google has not taken it (the erasure sweep tries again).
/// </summary>
internal static class CustomerMatchErasure
{
    public static async Task<VendorOutcome> EraseAsync(HttpClient client, DestinationSettings d, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        // The keys are what the syncs sent: an email (Identifier "email"), else a phone number.
        var users = keys.Select(k => CustomerMatchIdentifiers.Of(OutgoingMember.Removal("", k), keyIsEmail: k.Contains('@'))).Where(u => u.IdentifierCount > 0).ToList();
        if (users.Count == 0) return new VendorOutcome(VendorPrivacyCalls.Gone, "no identifier Google could hold");
        var job = new CustomerMatchJob(client, d, withAttributes: false, withConsent: false);
        var refused = await job.AddAsync(w =>
        {
            foreach (var u in users)
            {
                w.WriteStartObject();
                w.WritePropertyName("remove");
                CustomerMatchIdentifiers.WriteUserData(w, u, withValue: false);
                w.WriteEndObject();
            }
        }, cancellationToken);
        if (refused.Count > 0) throw new DestinationUnavailableException("the removal was refused: " + refused.Values.First());
        var outcome = await job.RunAsync(cancellationToken);
        if (outcome.Status == "FAILED") throw new DestinationUnavailableException(CustomerMatchJob.Describe(outcome));
        return new VendorOutcome(VendorPrivacyCalls.Acknowledged, string.Create(CultureInfo.InvariantCulture,
            $"{users.Count} member(s) removed from {job.UserList} (job {outcome.Status}{(outcome.Status == "SUCCESS" ? "" : ": Google finishes it on its own")})"));
    }
}
