using Microsoft.Extensions.Configuration;

namespace Cdp.Modules.Activation.Configuration;

/// <summary>
/// Ad audiences ask for the "advertising" consent purpose by default instead of "marketing": a sync to such a destination
/// that sets no ConsentPurpose of its own gets "advertising" (an explicit value, "" included, is kept). Applied after binding
/// (and again on every reload), before validation.
/// </summary>
internal static class AdAudienceConsent
{
    public static void ApplyDefaults(ActivationOptions options, IConfiguration configuration)
    {
        foreach (var (name, sync) in options.Syncs)
        {
            if (!options.Destinations.TryGetValue(sync.Destination ?? "", out var d) || !SettingNames.IsAdAudience(d.Kind)) continue;
            if (configuration[$"{SyncSettings.Section}:{name}:{nameof(SyncSettings.ConsentPurpose)}"] is null)
                sync.ConsentPurpose = GoogleCustomerMatchSettings.AdvertisingPurpose;
        }
    }

    /// <summary>
    /// The consent purposes a member must also have granted, beyond the sync's ConsentPurpose: Google's ad_user_data and
    /// ad_personalization purposes. A member without them is not sent, and is removed when already in the list.
    /// </summary>
    public static IReadOnlyList<string> RequiredPurposes(DestinationSettings d) => d.Kind == DestinationType.GoogleCustomerMatch
        ? new[] { d.AdUserDataConsent, d.AdPersonalizationConsent }.Where(p => p.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList()
        : [];
}
