namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// Recently written profiles, kept deserialised for the processor thread (the only writer of profiles), so a
/// returning visitor costs no read. A batch TAKES its profiles out and puts them back only after its commit:
/// a failed batch simply loses them, and the cache never holds uncommitted state.
/// </summary>
/// <param name="capacity">Cdp:Profiles:CachedProfiles; ~3-4 KB each: the default 50,000 keeps the 1M-profile footprint under 2 GB.</param>
internal sealed class ProfileCache(int capacity)
{

    private readonly Dictionary<long, ProfileState> _profiles = new();

    public ProfileState? Take(long profile) => _profiles.Remove(profile, out var p) ? p : null;

    public void Put(ProfileState p)
    {
        if (capacity == 0) return;
        if (_profiles.Count >= capacity)
        {
            // drop a tenth, roughly the oldest (a Dictionary enumerates in insertion order until removals reuse its slots)
            foreach (var k in _profiles.Keys.Take(Math.Max(1, capacity / 10)).ToList()) _profiles.Remove(k);
        }
        _profiles[p.Profile] = p;
    }

    public void Clear() => _profiles.Clear();
}
