using System.Text.Json;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Identity.Identifiers;

/// <summary>Its own catalogue (not the processor's graph), so that readers on any thread never wait for or depend on it.</summary>
[Service]
internal sealed class IdentifierReader(IOptions<IdentityOptions> options) : IIdentifierReader
{
    private readonly IdentifierCatalogue _catalogue = new(options.Value) { PhoneCache = new(StringComparer.Ordinal) };
    private PersonIdentifierScan? _anywhere;

    private PersonIdentifierScan Anywhere => _anywhere ??= new PersonIdentifierScan(_catalogue);

    public IReadOnlySet<string> IdentifiersAnywhere(JsonElement payload, Func<string, bool>? types = null) => Anywhere.All(payload, types);

    public bool AnyIdentifierAnywhere(JsonElement payload, Func<string, bool>? types, Func<string, bool> match) => Anywhere.Scan(payload, types, match);

    public IReadOnlySet<string> IdentifiersInText(string text, Func<string, bool>? types = null) => Anywhere.InText(text, types);

    public IReadOnlyList<string> Types => _catalogue.Types.Select(t => t.Name).ToList();

    public IReadOnlyList<string> Identifiers(JsonElement payload, Func<string, bool>? types = null)
    {
        var found = _catalogue.Extract(payload, include: types).Select(i => i.Key).ToList();
        // alias: previousId may be a user id (resolution decides by what is known); a check must cover both readings
        if (_catalogue.UserId is { } uid && (types is null || types(uid.Name)) && payload.TryGetProperty("previousId", out var p) && p.ValueKind == JsonValueKind.String
            && _catalogue.Normalise(uid, p.GetString()) is { } v && !found.Contains(uid.Name + ":" + v))
            found.Add(uid.Name + ":" + v);
        return found;
    }

    public string? Normalise(string type, string value) =>
        _catalogue.Find(type) is { } t && _catalogue.Normalise(t, value) is { } v ? t.Name + ":" + v : null;
}
