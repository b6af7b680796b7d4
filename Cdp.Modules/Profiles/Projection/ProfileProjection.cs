using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Memory;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>The profile projection the pipeline drives (see <see cref="IProfileProjection"/>): used on the processor's thread only.</summary>
[Service]
internal sealed class ProfileProjection(IProfileStore db, IOptions<ProfilesOptions> options, ComputedTraits computed) : IProfileProjection
{
    private readonly ProfilesOptions _options = options.Value;

    /// <summary>
    /// Recently written profiles (Cdp:Profiles:CachedProfiles, ~3-4 KB each), so a returning visitor costs no read; the
    /// processor's thread is the only writer of profiles. A batch takes its profiles out and puts them back after its commit.
    /// </summary>
    private readonly BoundedCache<ProfileState> _cache = new(options.Value.CachedProfiles);

    public ProfileBatchSizes BatchSizes => new(_options.BatchSize, _options.CatchUpBatchSize, _options.MaxWriteMilliseconds);

    public IProfileWork Begin() => new ProfileWork(db, _options, computed, _cache);

    public IProfileWork BeginRebuild(IReadOnlyList<long> dissolve)
    {
        _cache.Clear();
        return new ProfileWork(db, _options, computed, null, dissolve);
    }

    public IReadOnlyList<long> Timeline(long profile) => ProfileTimeline.All(db, profile);

    public void SortTimeline(IUnitOfWork tx, long profile) => LateTimeline.Sort(db, tx, profile);

    public void DropCache() => _cache.Clear();

    public void Reset(IUnitOfWork tx)
    {
        db.Reset(tx);
        _cache.Clear();
    }
}
