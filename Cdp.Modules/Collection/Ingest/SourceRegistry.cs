using System.Text;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Collection.Ingest;

internal sealed record Source(string Name, bool Strict);

/// <summary>Write key to source, from <c>Cdp:Sources</c>.</summary>
[Service]
internal sealed class SourceRegistry(IOptions<SourcesOptions> options)
{
    private readonly Dictionary<string, Source> _byKey = options.Value.ToDictionary(
        kv => kv.Value.WriteKey, kv => new Source(kv.Key, kv.Value.Strict), StringComparer.Ordinal);

    private readonly Dictionary<string, Source> _byName = options.Value.ToDictionary(
        kv => kv.Key, kv => new Source(kv.Key, kv.Value.Strict), StringComparer.Ordinal);

    public Source? ByName(string? name) => name is not null && _byName.TryGetValue(name, out var s) ? s : null;

    public IEnumerable<string> Names => _byName.Keys;

    public Source? ByWriteKey(string? writeKey) =>
        writeKey is not null && _byKey.TryGetValue(writeKey, out var s) ? s : null;

    /// <summary>Segment's HTTP Basic auth: the write key is the user name, the password is empty.</summary>
    public static string? WriteKeyFromBasicAuth(string? header)
    {
        if (header is null || !header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return null;
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = decoded.IndexOf(':');
            return colon < 0 ? decoded : decoded[..colon];
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
