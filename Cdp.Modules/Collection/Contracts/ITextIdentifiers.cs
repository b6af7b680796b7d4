namespace Cdp.Modules.Collection.Contracts;

/// <summary>
/// Identifier normalisation as identity resolution does it, for what Collection keeps outside the pipeline (dead letters:
/// raw text that never reached identity). Declared here and implemented by Identity (through its IIdentifierReader), so
/// that Collection, below Identity, never names Identity.
/// </summary>
public interface ITextIdentifiers
{
    /// <summary>
    /// Every identifier in free text (a dead letter's raw text, an error message): when the text is JSON, every identifier the
    /// event carries anywhere; and every email-shaped token and phone-shaped run of the text, normalised
    /// ("mary.major@gmail.com" is email:marymajor@gmail.com, "+44 20 7946 0958" is phone:+442079460958).
    /// </summary>
    IReadOnlySet<string> IdentifiersInText(string text, Func<string, bool>? types = null);

    /// <summary>"type:value" normalised, or null for an unknown type or a value that does not normalise (or is blocked).</summary>
    string? Normalise(string type, string value);
}
