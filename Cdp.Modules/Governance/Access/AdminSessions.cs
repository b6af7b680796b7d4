using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Cdp.Modules.Governance.Contracts;
using Cdp.Modules.Shared.Http;

namespace Cdp.Modules.Governance.Access;

/// <summary>
/// Dashboard sign-in sessions, in memory: the browser's cookie holds 256 random bits, the server keeps only their SHA-256
/// with the key's name, a SHA-256 of the key and the expiry. Every request checks the session against the keys in force
/// (<see cref="AdminKeyRing"/>), so removing or changing a key in the settings ends its sessions at the next request.
/// </summary>
internal sealed class AdminSessions(AdminKeyRing keys, TimeProvider clock) : IAdminSessions
{
    /// <summary>A signed-in browser stays signed in for a working day.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    /// <summary>Sessions kept at most; only admins create them, so this is never reached in use. Past it the oldest go first.</summary>
    public const int MaxSessions = 10_000;

    private sealed record Session(string KeyName, byte[] KeyHash, DateTimeOffset ExpiresAt);

    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);

    public TimeSpan Lifetime => SessionLifetime;

    public (string SessionId, ClaimsPrincipal User)? Start(string presentedKey)
    {
        if (keys.Find(presentedKey) is not { Role: AdminRole.Admin } key) return null;
        var now = clock.GetUtcNow();
        if (_sessions.Count >= MaxSessions) Prune(now);
        var id = Base64Url(RandomNumberGenerator.GetBytes(32));
        _sessions[Hash(id)] = new Session(key.Name, SHA256.HashData(key.Key), now + SessionLifetime);
        return (id, AdminKeyRing.Principal(key));
    }

    public ClaimsPrincipal? Resume(string sessionId)
    {
        if (sessionId.Length is 0 or > 100) return null;
        var hash = Hash(sessionId);
        if (!_sessions.TryGetValue(hash, out var session)) return null;
        if (session.ExpiresAt <= clock.GetUtcNow())
        {
            _sessions.TryRemove(hash, out _);
            return null;
        }
        var key = keys.Keys.FirstOrDefault(k => k.Name == session.KeyName);
        if (key is not { Role: AdminRole.Admin } || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(key.Key), session.KeyHash))
        {
            _sessions.TryRemove(hash, out _);
            return null;
        }
        return AdminKeyRing.Principal(key);
    }

    public void End(string sessionId)
    {
        if (sessionId.Length is > 0 and <= 100) _sessions.TryRemove(Hash(sessionId), out _);
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (hash, session) in _sessions)
        {
            if (session.ExpiresAt <= now) _sessions.TryRemove(hash, out _);
        }
        foreach (var (hash, _) in _sessions.OrderBy(s => s.Value.ExpiresAt).Take(Math.Max(0, _sessions.Count - MaxSessions + 1)).ToList())
            _sessions.TryRemove(hash, out _);
    }

    private static string Hash(string sessionId) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sessionId)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
