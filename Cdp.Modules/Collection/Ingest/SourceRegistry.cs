using System.Text;
using System.Threading.RateLimiting;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Collection.Ingest;

/// <summary>A configured sender. <see cref="RateLimit"/> is null when the source has no request limit.</summary>
internal sealed record Source(string Name, bool Strict, RateLimiter? RateLimit = null)
{
    public string WriteKey { get; init; } = "";

    /// <summary>Segment (write key on /v1) or a vendor webhook (/v1/webhooks/&lt;name&gt;, no write key).</summary>
    public Webhooks.SourceKind Kind { get; init; } = Webhooks.SourceKind.Segment;

    /// <summary>A webhook source's settings (null for Segment sources).</summary>
    public SourceOptions? Webhook { get; init; }

    /// <summary>The web origins whose browsers may send with this source's write key.</summary>
    public AllowedOrigins Origins { get; init; } = new([]);
}

/// <summary>Write key to source, from <c>Cdp:Sources</c>.</summary>
[Service]
internal sealed class SourceRegistry
{
    private readonly Dictionary<string, Source> _byName;
    private readonly Dictionary<string, Source> _byKey;

    public SourceRegistry(IOptions<SourcesOptions> options)
    {
        _byName = options.Value.ToDictionary(kv => kv.Key, kv => new Source(kv.Key, kv.Value.Strict, Limiter(kv.Value.MaxRequestsPerSecond))
        {
            WriteKey = kv.Value.WriteKey,
            Origins = new AllowedOrigins(kv.Value.AllowedOrigins),
            Kind = kv.Value.ParsedKind ?? Webhooks.SourceKind.Segment,
            Webhook = kv.Value.ParsedKind is null or Webhooks.SourceKind.Segment ? null : kv.Value,
        }, StringComparer.Ordinal);
        // webhook sources have no write key: they are reached only by their own URL
        _byKey = options.Value.Where(kv => kv.Value.ParsedKind is null or Webhooks.SourceKind.Segment).ToDictionary(kv => kv.Value.WriteKey, kv => _byName[kv.Key], StringComparer.Ordinal);
        _anyOrigin = _byName.Values.Any(s => s.Kind == Webhooks.SourceKind.Segment && s.Origins.Any);
        _listedOrigins = new HashSet<string>(_byName.Values.SelectMany(s => s.Origins.Listed), StringComparer.OrdinalIgnoreCase);
    }

    private readonly bool _anyOrigin;
    private readonly HashSet<string> _listedOrigins;

    /// <summary>Whether some source accepts browsers from this origin (what a preflight, which names no source, is answered by).</summary>
    public bool AnyAllowsOrigin(string origin) => _anyOrigin || _listedOrigins.Contains(origin);

    private static TokenBucketRateLimiter? Limiter(int perSecond) => perSecond <= 0 ? null : new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
    {
        TokenLimit = perSecond * 2,
        TokensPerPeriod = perSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    });

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
