namespace Cdp.Modules.Activation.Configuration;

/// <summary>Consent an ad audience asks of its members beyond the sync's purpose (which defaults to "advertising" for them, see <see cref="SyncSettings.EffectiveConsentPurpose"/>).</summary>
internal static class AdAudienceConsent
{
    /// <summary>
    /// The consent purposes a member must also have granted, beyond the sync's ConsentPurpose: Google's ad_user_data and
    /// ad_personalization purposes. A member without them is not sent, and is removed when already in the list.
    /// </summary>
    public static IReadOnlyList<string> RequiredPurposes(DestinationSettings d) => d.Kind == DestinationType.GoogleCustomerMatch
        ? new[] { d.AdUserDataConsent, d.AdPersonalizationConsent }.Where(p => p.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList()
        : [];
}
