using System.Text.Json;

namespace Cdp.Modules.Identity.Contracts;

/// <summary>Identifier normalisation as identity resolution does it, for other modules (thread-safe).</summary>
public interface IIdentifierReader
{
    /// <summary>The normalised identifiers ("type:value") an event carries, strongest first (alias previousId counts as user id and anonymous id).</summary>
    /// <param name="types">Only identifiers of these type names (null: all); the others are not even normalised (phones cost ~10 µs).</param>
    IReadOnlyList<string> Identifiers(JsonElement payload, Func<string, bool>? types = null);

    /// <summary>"type:value" normalised, or null for an unknown type or a value that does not normalise (or is blocked).</summary>
    string? Normalise(string type, string value);

    /// <summary>The configured identifier type names, strongest first.</summary>
    IReadOnlyList<string> Types { get; }
}
