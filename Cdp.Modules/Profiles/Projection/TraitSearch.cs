using System.Globalization;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// The profile search's rule for <c>?trait=&lt;path&gt;&amp;value=&lt;text&gt;</c>, the same on every store: a text trait
/// matches ignoring case; a number matches text that reads as the same number ("42" finds 42 and 42.0); a boolean matches
/// "true" or "false".
/// </summary>
internal static class TraitSearch
{
    /// <summary>
    /// What <paramref name="text"/> also means as a typed value: a number (as a double, within ±7.9e28 so that any stored
    /// number compares with it), or a boolean; null when neither.
    /// </summary>
    public static TreeValue? Typed(string text)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) && Math.Abs(d) < 7.9e28) return new TreeValue(d);
        if (bool.TryParse(text, out var b)) return new TreeValue(b);
        return null;
    }

    public static bool Matches(TreeValue trait, string text)
    {
        if (trait.IsString) return CultureInfo.InvariantCulture.CompareInfo.Compare(trait.AsString, text, CompareOptions.IgnoreCase) == 0;
        if (!(trait.IsNumber || trait.IsBoolean) || Typed(text) is not { } typed) return false;
        return trait.IsNumber == typed.IsNumber && trait.CompareTo(typed) == 0;
    }
}
