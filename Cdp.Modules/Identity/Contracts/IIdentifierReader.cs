using System.Text.Json;

namespace Cdp.Modules.Identity.Contracts;

/// <summary>Identifier normalisation as identity resolution does it, for other modules (thread-safe).</summary>
public interface IIdentifierReader
{
    /// <summary>The normalised identifiers ("type:value") an event carries, strongest first (alias previousId counts as user id and anonymous id).</summary>
    IReadOnlyList<string> Identifiers(JsonElement payload);

    /// <summary>"type:value" normalised, or null for an unknown type or a value that does not normalise (or is blocked).</summary>
    string? Normalise(string type, string value);

    /// <summary>The configured identifier type names, strongest first.</summary>
    IReadOnlyList<string> Types { get; }
}
