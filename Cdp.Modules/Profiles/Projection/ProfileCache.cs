namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// Recently written profiles, kept deserialised for the processor thread (the only writer of profiles), so a
/// returning visitor costs no read. A batch TAKES its profiles out and puts them back only after its commit:
/// a failed batch simply loses them, and the cache never holds uncommitted state.
/// </summary>
internal sealed class ProfileCache
{
    /// <summary>~2-4 KB each: 50,000 profiles is ~150 MB, within the 2 GB footprint target at 1M profiles.</summary>
    public const int Capacity = 50_000;

    private readonly Dictionary<long, ProfileState> _profiles = new();

    public ProfileState? Take(long profile) => _profiles.Remove(profile, out var p) ? p : null;

    public void Put(ProfileState p)
    {
        if (_profiles.Count >= Capacity)
        {
            // drop the oldest tenth (a Dictionary without removals enumerates in insertion order; close enough)
            foreach (var k in _profiles.Keys.Take(Capacity / 10).ToList()) _profiles.Remove(k);
        }
        _profiles[p.Profile] = p;
    }

    public void Clear() => _profiles.Clear();
}
