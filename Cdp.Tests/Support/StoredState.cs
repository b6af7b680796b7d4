using Cdp.Modules.Shared.Storage.Copy;

namespace Cdp.Tests.Support;

/// <summary>
/// What an installation holds, on either provider, as its record sets with their counts and checksums
/// (<see cref="StorageCopier.Checksums"/>): two states compare equal when the same records are stored.
/// </summary>
public static class StoredState
{
    /// <summary>The identity graph and the profiles (what a reprocess rebuilds).</summary>
    public static string IdentityAndProfiles(IServiceProvider services) => string.Join("\n", StorageCopier.Checksums(services)
        .Where(s => s.Module is "Identity" or "Profiles").Select(s => $"{s.Module} {s.Name}: {s.Records} {s.Checksum}"));
}
