using System.Security.Claims;

namespace Cdp.Modules.Shared.Http;

/// <summary>
/// Server-side sign-in sessions for admin pages a browser opens without a Bearer header (the jobs dashboard at /jobs).
/// The browser holds only a random session id; the session dies when it expires, at sign-out, at a restart (sessions
/// live in memory) and as soon as its admin key is removed, changed or loses the Admin role in the settings.
/// Shared, not Governance: the jobs dashboard (Scheduling, below Governance) signs in with it; Governance implements it.
/// </summary>
public interface IAdminSessions
{
    /// <summary>How long a session lives after its sign-in (absolute, not sliding).</summary>
    TimeSpan Lifetime { get; }

    /// <summary>A new session for an admin key with the Admin role (the user it signs in as, and the id for the cookie), or null for any other key.</summary>
    (string SessionId, ClaimsPrincipal User)? Start(string presentedKey);

    /// <summary>The signed-in user of a live session, or null (unknown, expired, signed out, or its key is gone or changed).</summary>
    ClaimsPrincipal? Resume(string sessionId);

    /// <summary>Signs the session out; unknown ids are ignored.</summary>
    void End(string sessionId);
}
