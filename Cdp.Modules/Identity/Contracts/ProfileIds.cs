namespace Cdp.Modules.Identity.Contracts;

/// <summary>
/// Profile ids as the API shows them ("p_123"): the identity graph numbers profiles (the sequence of the event that created
/// one), so the id format lives with it, below every module that names a profile.
/// </summary>
public static class ProfileIds
{
    public static string Format(long profile) => "p_" + profile.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static bool TryParse(string? id, out long profile)
    {
        profile = 0;
        return id is not null && id.StartsWith("p_", StringComparison.Ordinal)
            && long.TryParse(id.AsSpan(2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out profile)
            && profile > 0;
    }
}
