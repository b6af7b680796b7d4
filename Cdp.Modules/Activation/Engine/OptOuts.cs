using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Privacy;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Activation.Engine;

/// <summary>
/// Who opted out, for one sync run: a profile whose consent for the sync's purpose is revoked or whose suppressed trait is
/// true-ish (the projection says NoConsent), or whose address is on the privacy suppression list (Governance). Such a member
/// the destination has is unsubscribed there, not only taken off the list. The suppression list is looked up by the address
/// normalised as Identity stores identifiers; nothing is looked up while the list is empty.
/// </summary>
internal sealed class OptOuts(IServiceProvider services, MemberProjection projection)
{
    private readonly ISuppressionList? _suppressions = services.GetService<ISuppressionList>();
    private readonly IIdentifierReader? _identifiers = services.GetService<IIdentifierReader>();

    /// <summary>True when the address (a member key) is a suppressed email identifier.</summary>
    public bool Suppressed(string key)
    {
        if (_suppressions is null || _suppressions.IsEmpty || !key.Contains('@')) return false;
        var normalised = _identifiers?.Normalise("email", key);
        return _suppressions.Contains(normalised ?? "email:" + key);
    }

    /// <summary>A member who is leaving the sync: did they opt out (rather than leave the segment)?</summary>
    public bool OptedOut(ProfileView? profile, string key)
    {
        if (Suppressed(key)) return true;
        return profile is not null && projection.Check(profile, out _) == Eligibility.NoConsent;
    }
}
