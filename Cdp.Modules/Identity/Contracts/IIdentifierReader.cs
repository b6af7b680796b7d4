using System.Text.Json;
using Cdp.Modules.Collection.Contracts;

namespace Cdp.Modules.Identity.Contracts;

/// <summary>
/// Identifier normalisation as identity resolution does it, for other modules (thread-safe). Its text reading and
/// <c>Normalise</c> come from Collection's <see cref="ITextIdentifiers"/>, which dead letters use.
/// </summary>
public interface IIdentifierReader : ITextIdentifiers
{
    /// <summary>The normalised identifiers ("type:value") an event carries, strongest first (alias previousId counts as user id and anonymous id).</summary>
    /// <param name="types">Only identifiers of these type names (null: all); the others are not even normalised (phones cost ~10 µs).</param>
    IReadOnlyList<string> Identifiers(JsonElement payload, Func<string, bool>? types = null);

    /// <summary>
    /// Every identifier an event carries ANYWHERE, normalised ("type:value", once each): all of <see cref="Identifiers"/>,
    /// identifier traits in any case (traits.Email), context.externalIds[] typed by an identifier type name, and email-
    /// and phone-shaped values anywhere (properties.email, a userId that is an address). The one notion of "this person's
    /// identifiers" used by suppression, subject access export and erasure.
    /// </summary>
    /// <param name="types">Only these type names (null: all); the others are not even looked for.</param>
    IReadOnlySet<string> IdentifiersAnywhere(JsonElement payload, Func<string, bool>? types = null);

    /// <summary>
    /// True as soon as <paramref name="match"/> accepts one identifier of <see cref="IdentifiersAnywhere"/> (the ingest
    /// suppression check: stops at the first hit, allocates only for the values it normalises).
    /// </summary>
    bool AnyIdentifierAnywhere(JsonElement payload, Func<string, bool>? types, Func<string, bool> match);

    /// <summary>The configured identifier type names, strongest first.</summary>
    IReadOnlyList<string> Types { get; }
}
