using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Http;
using FluentValidation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Cdp.Modules.Governance.Access;

/// <summary>
/// The admin API keys in force: those validated at start, replaced when appsettings.json (or another reloadable source)
/// changes and the new Cdp:Admin section is valid. An invalid edit is logged and leaves the keys as they were, so a typo
/// can neither stop the server nor open it. Keys are compared in constant time.
/// </summary>
internal sealed class AdminKeyRing : IDisposable
{
    internal sealed record Entry(string Name, byte[] Key, AdminRole Role);

    private readonly IConfiguration _configuration;
    private readonly IHostEnvironment _environment;
    private readonly ILogger<AdminKeyRing> _log;
    private readonly IDisposable? _subscription;
    private volatile IReadOnlyList<Entry> _keys;

    public AdminKeyRing(IOptions<AdminOptions> started, IConfiguration configuration, IHostEnvironment environment, ILogger<AdminKeyRing> log)
    {
        _configuration = configuration;
        _environment = environment;
        _log = log;
        _keys = Entries(started.Value);
        _subscription = ChangeToken.OnChange(configuration.GetReloadToken, Reload);
    }

    public IReadOnlyList<Entry> Keys => _keys;

    /// <summary>The key the bytes are, or null.</summary>
    public Entry? Find(ReadOnlySpan<byte> presented)
    {
        Entry? found = null;
        foreach (var entry in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(presented, entry.Key)) found = entry;
        }
        return found;
    }

    public Entry? Find(string presented) => Find(Encoding.UTF8.GetBytes(presented.Trim()));

    public static ClaimsPrincipal Principal(Entry entry) => new(new ClaimsIdentity(
        [new Claim(ClaimTypes.Name, entry.Name), new Claim(ApiKeyAuthenticationHandler.RoleClaim, entry.Role.ToString())], AdminAccess.Scheme));

    private static IReadOnlyList<Entry> Entries(AdminOptions options) =>
        options.ApiKeys.Select(k => new Entry(k.Key, Encoding.UTF8.GetBytes(k.Value.Key), k.Value.Role)).ToList();

    private void Reload()
    {
        try
        {
            var options = new AdminOptions();
            _configuration.GetSection(AdminOptions.Section).Bind(options);
            var failures = SettingsValidation.Failures(new AdminOptionsValidator().Validate(options), AdminOptions.Section)
                .Concat(new ProductionAdminKeyRules(_environment).Validate(null, options) is { Failed: true } weak ? weak.Failures : [])
                .ToList();
            if (failures.Count > 0)
            {
                _log.LogError("The changed admin API keys are invalid, the previous keys stay in force: {Failures}", string.Join("; ", failures));
                return;
            }
            var keys = Entries(options);
            if (keys.Count != _keys.Count || keys.Zip(_keys).Any(p => p.First.Name != p.Second.Name || p.First.Role != p.Second.Role || !p.First.Key.AsSpan().SequenceEqual(p.Second.Key)))
                _log.LogInformation("Admin API keys reloaded: {Names}", string.Join(", ", keys.Select(k => $"{k.Name} ({k.Role})")));
            _keys = keys;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ValidationException)
        {
            _log.LogError(e, "The changed Cdp:Admin settings cannot be read, the previous admin API keys stay in force");
        }
    }

    public void Dispose() => _subscription?.Dispose();
}
